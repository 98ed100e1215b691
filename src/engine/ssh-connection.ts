// An ssh:// engine connection as the docker CLI makes it (cli/connhelper/commandconn): the stdio
// of `ssh ... docker system dial-stdio`. Hand-written: no library runs the system ssh as a stream,
// and ssh2 (docker-modem's) reads neither ~/.ssh/config nor known_hosts.
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import type { Duplex } from "node:stream";
import { createDebug } from "../debug-logger.js";
import { type SshDestination, sshArguments } from "../docker-config/ssh-command.js";
import { EngineUnreachableError } from "../errors.js";
import { childProcess } from "../lazy-builtins.js";
import { LineTail } from "../streams/line-tail.js";
import { JoinedWritesDuplex } from "./joined-writes-duplex.js";
import { forgetProcessGroup, killProcessGroup, trackProcessGroup } from "./process-group.js";

const debug = createDebug("prefect-dockerutils:ssh");

/** Lines of ssh's stderr kept for an error message. */
const STDERR_LINES = 8;
const STDERR_LINE_CHARS = 400;
/** How long ssh may take to exit once its output has ended (the CLI waits 10 s too). */
const EXIT_WAIT_MS = 10_000;
/** How long ssh has to exit after SIGTERM before its group is killed (the CLI's 3 s). */
const KILL_GRACE_MS = 3_000;

/** Options of {@link openSshConnection}. */
export interface SshConnectionOptions {
  readonly destination: SshDestination;
  /** The environment ssh runs in (`PATH`, `SSH_AUTH_SOCK`). */
  readonly env: NodeJS.ProcessEnv;
  /** For messages. */
  readonly endpoint: { readonly url: string; readonly source: string };
}

/**
 * Starts `ssh ... docker system dial-stdio` in its own session (no terminal to ask for a password
 * or host key on: it fails instead of waiting); its process group is killed when the connection is
 * destroyed. When ssh fails, the connection is destroyed with an {@link EngineUnreachableError}
 * naming the endpoint and ending with the last lines ssh printed.
 */
export function openSshConnection(options: SshConnectionOptions): Duplex {
  return new SshConnection(options);
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

class SshConnection extends JoinedWritesDuplex {
  readonly #options: SshConnectionOptions;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #stderr = new LineTail({ lines: STDERR_LINES, maxLineChars: STDERR_LINE_CHARS });
  readonly #exit: Promise<Exit>;
  #exited = false;
  #spawnError: Error | undefined;
  #killTimer: NodeJS.Timeout | undefined;

  constructor(options: SshConnectionOptions) {
    super({ allowHalfOpen: true });
    this.#options = options;
    const args = sshArguments(options.destination);
    debug("%s: ssh %s", options.endpoint.url, args.join(" "));
    this.#child = childProcess().spawn("ssh", args, {
      env: options.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      windowsHide: true,
    });
    const child = this.#child;
    trackProcessGroup(child.pid);
    this.#exit = new Promise<Exit>((resolve) => {
      child.once("error", (error) => {
        // Spawning failed (ssh not on PATH): no exit will follow.
        this.#spawnError = error;
        this.#exited = true;
        resolve({ code: null, signal: null });
      });
      child.once("exit", (code, signal) => {
        this.#exited = true;
        forgetProcessGroup(child.pid);
        clearTimeout(this.#killTimer);
        debug("%s: ssh exited (%s)", options.endpoint.url, signal ?? code);
        resolve({ code, signal });
      });
    });
    child.stdout.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stdout.once("end", () => {
      void this.#whenExited().then((failure) => {
        if (failure) this.destroy(failure);
        else this.push(null);
      });
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      this.#stderr.push(text);
      debug("%s: ssh: %s", options.endpoint.url, text.trimEnd().slice(0, STDERR_LINE_CHARS));
    });
    // Writing to an ssh that has exited fails with EPIPE; the exit says why, see #whenExited.
    child.stdin.on("error", () => undefined);
    child.stdout.on("error", (error) => this.destroy(error));
    child.stderr.on("error", () => undefined);
    child.once("error", () => this.destroy(this.#failure({ code: null, signal: null })));
  }

  override _read(): void {
    this.#child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error) => void) {
    this.#child.stdin.write(chunk, (error) => {
      if (!error) {
        callback();
        return;
      }
      void this.#whenExited().then((failure) => callback(failure ?? error));
    });
  }

  override _final(callback: (error?: Error) => void): void {
    this.#child.stdin.end(callback);
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    const child = this.#child;
    child.stdout.destroy();
    child.stderr.destroy();
    child.stdin.destroy();
    if (!this.#exited) {
      killProcessGroup(child.pid, "SIGTERM");
      this.#killTimer = setTimeout(() => killProcessGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
      this.#killTimer.unref();
    }
    callback(error);
  }

  /** Once ssh has exited (or {@link EXIT_WAIT_MS} passed), why it failed; `undefined` on exit 0. */
  async #whenExited(): Promise<EngineUnreachableError | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), EXIT_WAIT_MS);
    });
    const exit = await Promise.race([this.#exit, timeout]);
    clearTimeout(timer);
    if (exit === undefined) return this.#failure(undefined);
    if (exit.code === 0 && this.#spawnError === undefined) return undefined;
    return this.#failure(exit);
  }

  #failure(exit: Exit | undefined): EngineUnreachableError {
    const { url, source } = this.#options.endpoint;
    const stderr = this.#stderr.lines().join("\n");
    const spawnError = this.#spawnError as NodeJS.ErrnoException | undefined;
    let cause: string;
    if (spawnError?.code === "ENOENT") {
      cause =
        "ssh was not found on PATH; install the OpenSSH client (the docker CLI runs it for ssh:// engines too)";
    } else if (spawnError) {
      cause = `ssh could not be started: ${spawnError.message}`;
    } else if (exit === undefined) {
      cause = `ssh closed its output but did not exit within ${EXIT_WAIT_MS} ms`;
    } else {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
      cause = `ssh ${how}${stderr ? `: ${stderr}` : ""}`;
      if (exit.code === 127 || /docker: (command )?not found/.test(stderr)) {
        cause +=
          "\n(is Docker 18.09 or later installed on the remote host, on the PATH of the ssh session?)";
      } else if (exit.code === 255) {
        cause += `\n(ssh itself failed: try \`ssh ${sshArguments(this.#options.destination).join(" ")}\`, which must connect without asking anything)`;
      }
    }
    return new EngineUnreachableError(
      `Cannot reach the Docker engine at ${url} (from ${source}): ${cause}`,
      url,
      spawnError ? { cause: spawnError } : undefined,
    );
  }
}
