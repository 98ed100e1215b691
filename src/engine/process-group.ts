// Children started in a session of their own (`detached: true`) are killed as a group, so that
// what they started (an ssh ProxyCommand, a keychain prompt) goes with them, at the latest when
// this process exits.

const running = new Set<number>();
let exitHookInstalled = false;

/** Notes a group leader; {@link forgetProcessGroup} it once it exited, as its pid is reused. */
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

/** Signals the group `pid` leads, if still tracked: only then is the pid surely the group's. */
export function killProcessGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined || !running.has(pid)) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
