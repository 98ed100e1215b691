/**
 * The progress display around a command's operations, shared by `build` and `push`.
 * @module
 */
import {
  createRenderer,
  type ProgressRenderer,
  resolveProgressMode,
  SILENT_RENDERER,
} from "../progress/renderer.js";
import type { CommandContext } from "../run-cli.js";

/**
 * Runs `work` with the command's renderer (silent with `quiet`), ending its operation as failed or
 * cancelled when `work` throws, and closing it in every case.
 */
export async function withRenderer(
  context: CommandContext,
  quiet: boolean | undefined,
  work: (renderer: ProgressRenderer) => Promise<void>,
): Promise<void> {
  const { io, signal } = context;
  const renderer: ProgressRenderer = quiet
    ? SILENT_RENDERER
    : await createRenderer(resolveProgressMode(context.progress, io.stderr), io.stderr, {
        color: context.color,
      });
  try {
    await work(renderer);
  } catch (error) {
    renderer.end({ kind: signal.aborted ? "cancelled" : "failed" });
    throw error;
  } finally {
    renderer.close();
  }
}
