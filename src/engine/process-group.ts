/**
 * Child processes started in their own process group (`spawn(..., { detached: true })`, a new
 * session), killed as a group: whatever they started (an ssh `ProxyCommand`, a keychain prompt)
 * goes with them. Groups still running when this process exits are killed then.
 * @module
 */

const running = new Set<number>();
let exitHookInstalled = false;

/**
 * Notes a group leader's pid, so that its group is killed if this process exits first. Call
 * {@link forgetProcessGroup} once it has exited: a pid is reused after that.
 */
export function trackProcessGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  running.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const leader of [...running]) killProcessGroup(leader, "SIGKILL");
    });
  }
}

/** Forgets a group whose leader has exited. */
export function forgetProcessGroup(pid: number | undefined): void {
  if (pid !== undefined) running.delete(pid);
}

/**
 * Sends `signal` to the process group `pid` leads, if it is still tracked (its leader has not
 * exited: only then is the pid surely still the group's).
 */
export function killProcessGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined || !running.has(pid)) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
