/**
 * `prefect-dockerutils push IMAGE REGISTRY_URL NAME [--tag TAG]`.
 * @module
 */
import { pushImage, pushImageDetailed } from "../../index.js";
import type { ProgressRenderer } from "../progress/renderer.js";
import type { CommandContext } from "../run-cli.js";
import { checkOptions } from "./check-options.js";
import { withRenderer } from "./with-renderer.js";

/** The flags of `push`. */
export interface PushFlags {
  readonly tag?: string;
  readonly quiet?: boolean;
}

/** Any image ID: the push arguments are checked before the image to push exists. */
const SOME_IMAGE_ID = `sha256:${"0".repeat(64)}`;

/** Checks a push's registry URL, name and tag before any engine work (see {@link checkOptions}). */
export function checkPushArguments(
  registryUrl: string,
  name: string,
  tag: string | undefined,
  env: NodeJS.ProcessEnv,
  image = SOME_IMAGE_ID,
): Promise<void> {
  return checkOptions((signal) =>
    pushImage(image, registryUrl, name, { ...(tag !== undefined ? { tag } : {}), env, signal }),
  );
}

/** Pushes `image` as Prefect's `push_image` does and prints the pushed reference. */
export async function pushCommand(
  context: CommandContext,
  image: string,
  registryUrl: string,
  name: string,
  flags: PushFlags,
): Promise<void> {
  const { io, signal } = context;
  // Before anything shows the URL: one with a login in it is refused without being shown.
  await checkPushArguments(registryUrl, name, flags.tag, io.env, image);
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

/** Pushes `image` with `renderer` showing it, and prints the pushed reference on `stdout`. */
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
