// A real terminal for the command line's tests: tmux runs the bin in a pseudo-terminal of a given
// size, and the tests read the screen tmux shows (capture-pane), as a person would.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { onTestFinished } from "vitest";
import { BIN_COMMAND, emptyDir, until } from "./cli-run.js";

const run = promisify(execFile);

/** Quotes a word for sh. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A terminal of `width` × `height` in its own tmux server, running the bin with `args`. */
export class Terminal {
  private constructor(
    /**
     * The tmux server's socket, in a folder of the test's own (removed when it finishes): with
     * `-L`, tmux leaves the socket file in /tmp/tmux-<uid> even after kill-server.
     */
    readonly socket: string,
  ) {}

  static async start(
    args: readonly string[],
    options: { cwd: string; env?: Record<string, string>; width?: number; height?: number },
    program: readonly string[] = BIN_COMMAND,
  ): Promise<Terminal> {
    const terminal = new Terminal(path.join(await emptyDir("pdu-tmux-"), "tmux.sock"));
    const env = { TERM: "xterm-256color", ...options.env };
    const exports = Object.entries(env).map(([key, value]) => `${key}=${shellQuote(value)}`);
    // The shell prints the exit code and keeps the pane (and its last screen) open.
    const command = [
      `cd ${shellQuote(options.cwd)} &&`,
      "env -u NO_COLOR -u FORCE_COLOR",
      ...exports,
      ...program.map(shellQuote),
      ...args.map(shellQuote),
      '; echo "[exit $?]"; sleep 600',
    ].join(" ");
    await run("tmux", [
      "-S",
      terminal.socket,
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-x",
      String(options.width ?? 110),
      "-y",
      String(options.height ?? 45),
      "sh",
      "-c",
      command,
    ]);
    onTestFinished(async () => {
      await run("tmux", ["-S", terminal.socket, "kill-server"]).catch(() => undefined);
    });
    return terminal;
  }

  /** The screen as text (`colours: true` keeps the SGR colour sequences tmux knows of). */
  async screen(colours = false): Promise<string> {
    const { stdout } = await run("tmux", [
      "-S",
      this.socket,
      "capture-pane",
      "-p",
      ...(colours ? ["-e"] : []),
    ]);
    return stdout;
  }

  /** Waits for the bin to exit and gives its code and the final screen. */
  async finished(timeoutMs = 90_000): Promise<{ code: number; screen: string }> {
    let screen = "";
    await until(
      "the bin to exit",
      async () => {
        screen = await this.screen();
        return /^\[exit \d+\]$/m.test(screen);
      },
      timeoutMs,
    );
    const code = Number(/^\[exit (\d+)\]$/m.exec(screen)?.[1]);
    return { code, screen };
  }
}

/** Screen lines without trailing blanks, and without the empty rows below the output. */
export function lines(screen: string): string[] {
  return screen
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line !== "");
}

/** The escape character, for finding colour sequences in a captured screen. */
export const ESC = String.fromCharCode(0x1b);
/** The spinner of the live frame: never left on a final screen. */
export const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
