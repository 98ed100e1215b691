/**
 * `prefect-dockerutils push IMAGE REGISTRY_URL NAME [--tag TAG]`.
 * @module
 */
import { pushImageDetailed } from "../../index.js";
import {
  createRenderer,
  type ProgressRenderer,
  resolveProgressMode,
  SILENT_RENDERER,
} from "../progress/renderer.js";
import type { CommandContext } from "../run-cli.js";

/** The flags of `push`. */
export interface PushFlags {
  readonly tag?: string;
  readonly quiet?: boolean;
}

/**
 * Pushes `image` as Prefect's `push_image` does (tag, push, remove the tag) and prints the
 * pushed reference, `<registry host>/<name>:<tag>`.
 */
export async function pushCommand(
  context: CommandContext,
  image: string,
  registryUrl: string,
  name: string,
  flags: PushFlags,
): Promise<void> {
  const { io, signal } = context;
  const renderer: ProgressRenderer = flags.quiet
    ? SILENT_RENDERER
    : await createRenderer(resolveProgressMode(context.progress, io.stderr), io.stderr, {
        color: context.color,
      });
  try {
    renderer.start(
      "push",
      `${image} to ${registryUrl} as ${name}${flags.tag ? `:${flags.tag}` : ""}`,
    );
    const pushed = await pushImageDetailed(image, registryUrl, name, {
      ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
      onProgress: renderer.onProgress,
      env: io.env,
      signal,
    });
    renderer.end({ kind: "done", summary: [`pushed ${pushed.reference}`] });
    io.stdout.write(`${pushed.reference}\n`);
  } catch (error) {
    renderer.end({ kind: signal.aborted ? "cancelled" : "failed" });
    throw error;
  } finally {
    renderer.close();
  }
}
