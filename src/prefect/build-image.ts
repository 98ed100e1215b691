import { stat } from "node:fs/promises";
import type { BuildContextOverlay } from "../build-context/build-context.js";
import { buildWithClassic } from "../classic/build-with-classic.js";
import { openEngine } from "../engine/engine-connection.js";
import { InvalidArgumentError } from "../errors.js";
import {
  type BuildImageOptions,
  type NormalizedBuildImageOptions,
  normalizeBuildImageOptions,
} from "../operation/build-image-options.js";
import { explainExecFormatError } from "./foreign-platform.js";
import { IMAGE_LABELS } from "./labels.js";

/**
 * Builds a Docker image with the labels in {@link IMAGE_LABELS} and resolves to its ID. Transient
 * failures are retried as Prefect does (3 retries after 2, 4 and 8 s).
 *
 * @param context - The folder to send as the build context.
 * @throws InvalidArgumentError for a bad option, before any I/O; BuildError with the engine's
 *   text, also for errors inside its (HTTP 200) progress stream.
 * @example
 * ```ts
 * const imageId = await buildImage("./app", { tag: "my-app:latest", streamProgressTo: process.stdout });
 * ```
 */
export async function buildImage(
  context: string,
  options: BuildImageOptions = {},
): Promise<string> {
  checkContextArgument(context);
  return buildImageInternal(context, normalizeBuildImageOptions(options));
}

/** The `context` argument, before any I/O. */
function checkContextArgument(context: unknown): asserts context is string {
  if (!context) {
    throw new InvalidArgumentError("context required to build an image");
  }
  if (typeof context !== "string") {
    throw new InvalidArgumentError(
      `context must be the path of a folder (a string), got ${typeof context}`,
    );
  }
}

/**
 * Resolves when `context` is a folder (links followed), before anything is sent.
 * @param fix - What the "not a folder" message tells the caller to do.
 * @throws InvalidArgumentError `Context path <context> does not exist` or `... is not a folder`.
 */
export async function checkContextFolder(context: string, fix?: string): Promise<void> {
  const info = await stat(context).catch(() => undefined);
  if (info?.isDirectory()) return;
  throw new InvalidArgumentError(
    info
      ? `Context path ${context} is not a folder${fix === undefined ? "" : `; ${fix}`}`
      : `Context path ${context} does not exist`,
  );
}

/** {@link buildImage} with options normalised, and the host files `ImageBuilder` adds. */
export async function buildImageInternal(
  context: string,
  options: NormalizedBuildImageOptions,
  overlays: readonly BuildContextOverlay[] = [],
): Promise<string> {
  checkContextArgument(context);
  options.signal?.throwIfAborted();
  await checkContextFolder(context, "pass the folder that holds the Dockerfile");
  const { signal } = options;
  const engine = openEngine({ docker: options.docker, env: options.env });
  // BuildKit's code loads while the engine answers the ping: at a process's first build, that is
  // most of the time before the first request.
  const buildKit =
    options.builder === "buildkit" ? import("../buildkit/build-with-buildkit.js") : undefined;
  buildKit?.catch(() => undefined);
  const labelled = { ...options, labels: { ...options.labels, ...IMAGE_LABELS } };
  try {
    await engine.ping(signal ? { signal } : {});
    if (buildKit === undefined) return await buildWithClassic(engine, context, labelled, overlays);
    const { buildWithBuildKit } = await buildKit;
    return await buildWithBuildKit(engine, context, labelled, overlays);
  } catch (error) {
    throw explainExecFormatError(error, options.platform);
  }
}
