/**
 * `prefect-dockerutils push IMAGE REGISTRY_URL NAME [--tag TAG]`.
 * @module
 */
import { pushImageDetailed } from "../../index.js";
import type { ProgressRenderer } from "../progress/renderer.js";
import type { CommandContext } from "../run-cli.js";
import { withRenderer } from "./with-renderer.js";

/** The flags of `push`. */
export interface PushFlags {
  readonly tag?: string;
  readonly quiet?: boolean;
}

/**
 * Pushes `image` as Prefect's `push_image` does (tag, push, remove the tag, here only when the
 * image keeps another name) and prints the pushed reference, `<registry host>/<name>:<tag>`.
 */
export async function pushCommand(
  context: CommandContext,
  image: string,
  registryUrl: string,
  name: string,
  flags: PushFlags,
): Promise<void> {
  const { io, signal } = context;
  await withRenderer(context, flags.quiet, async (renderer) => {
    renderer.start(
      "push",
      `${image} to ${registryUrl} as ${name}${flags.tag ? `:${flags.tag}` : ""}`,
    );
    await pushAndPrint(renderer, io.stdout, image, registryUrl, name, {
      tag: flags.tag,
      env: io.env,
      signal,
    });
  });
}

/**
 * Pushes `image` with `renderer` showing the progress, then ends the renderer's push and prints
 * the pushed reference on `stdout` (shared by `push` and `build --push`).
 */
export async function pushAndPrint(
  renderer: ProgressRenderer,
  stdout: { write(text: string): unknown },
  image: string,
  registryUrl: string,
  name: string,
  options: { tag: string | undefined; env: NodeJS.ProcessEnv; signal: AbortSignal },
): Promise<void> {
  const pushed = await pushImageDetailed(image, registryUrl, name, {
    ...(options.tag !== undefined ? { tag: options.tag } : {}),
    onProgress: renderer.onProgress,
    env: options.env,
    signal: options.signal,
  });
  renderer.end({ kind: "done", summary: [`pushed ${pushed.reference}`] });
  stdout.write(`${pushed.reference}\n`);
}
