/**
 * How the command line shows the progress of builds and pushes.
 * @module
 */
import type { ProgressListener } from "../../index.js";

/** `tty`: redrawn in place; `plain`: one line per event; `json`: one JSON object per event. */
export type ProgressMode = "tty" | "plain" | "json";

/** What the user asked for with `--progress`. */
export type ProgressChoice = ProgressMode | "auto";

/** The operations a renderer shows, one after the other. */
export type OperationKind = "build" | "push";

/** How an operation ended. */
export type Outcome =
  | { readonly kind: "done"; readonly summary: readonly string[] }
  | { readonly kind: "failed" }
  | { readonly kind: "cancelled" };

/** Shows progress events of operations that run one after the other. */
export interface ProgressRenderer {
  /** An operation starts, e.g. `("build", "/path/to/context")`. */
  start(kind: OperationKind, title: string): void;
  /** Receives the operation's events; pass it as `onProgress`. */
  readonly onProgress: ProgressListener;
  /** The current operation ended; `summary` lines are shown for a success. */
  end(outcome: Outcome): void;
  /** Gives the terminal back (timers, cursor). Idempotent. */
  close(): void;
}

/** A stream a renderer writes to: `process.stderr` or a test's stand-in. */
export interface RenderTarget {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
}

/** `auto` is `tty` on a terminal and `plain` anywhere else, as `docker build --progress` does. */
export function resolveProgressMode(choice: ProgressChoice, target: RenderTarget): ProgressMode {
  if (choice !== "auto") return choice;
  return target.isTTY === true ? "tty" : "plain";
}

/** A renderer for `mode`, loading only the code that mode needs. */
export async function createRenderer(
  mode: ProgressMode,
  target: RenderTarget,
  options: { readonly color: boolean; readonly now?: () => number },
): Promise<ProgressRenderer> {
  switch (mode) {
    case "json": {
      const { JsonRenderer } = await import("./json-renderer.js");
      return new JsonRenderer(target);
    }
    case "plain": {
      const { PlainRenderer } = await import("./plain-renderer.js");
      return new PlainRenderer(target, options.now);
    }
    case "tty": {
      const { TtyRenderer } = await import("./tty-renderer.js");
      return TtyRenderer.create(target, options);
    }
  }
}

/** A renderer that shows nothing, for `--quiet`. */
export const SILENT_RENDERER: ProgressRenderer = {
  start() {},
  onProgress() {},
  end() {},
  close() {},
};
