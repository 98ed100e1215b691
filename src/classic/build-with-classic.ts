import type { Readable } from "node:stream";
import { registryConfigHeader } from "../auth/credentials.js";
import { type BuildContextOverlay, createBuildContext } from "../build-context/build-context.js";
import { createDebug } from "../debug-logger.js";
import { buildQuery } from "../engine/build-query.js";
import type { EngineConnection } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import {
  BuildContextError,
  BuildError,
  DockerfileNotFoundError,
  EngineHttpError,
  InvalidArgumentError,
} from "../errors.js";
import { type Attempt, readResponse, runAttempts } from "../operation/attempt.js";
import type { NormalizedBuildImageOptions } from "../operation/build-image-options.js";
import { isTransientError, isTransientMessage } from "../operation/retry.js";
import { BuildStream } from "./build-stream.js";

const debug = createDebug("prefect-dockerutils:build");

/**
 * Builds `context` with the engine's classic builder (`POST /build` with the tar as body) and
 * resolves to the image ID, retrying transient failures as Prefect does.
 * @param engine - a connection the caller has pinged.
 * @param context - the context folder (checked by the caller).
 * @param overlays - host files laid over the context (ImageBuilder's copies).
 */
export async function buildWithClassic(
  engine: EngineConnection,
  context: string,
  options: NormalizedBuildImageOptions,
  overlays: readonly BuildContextOverlay[],
): Promise<string> {
  // Every configured registry, as the docker CLI sends them: the engine picks what FROM needs.
  const registryConfig = await registryConfigHeader(options);
  const headers: Record<string, string> = { "Content-Type": "application/x-tar" };
  if (registryConfig !== undefined) headers["X-Registry-Config"] = registryConfig;
  return runAttempts(
    options,
    { operation: "build", what: `Docker build of ${context}`, debug, isTransient },
    (attempt) => buildOnce(engine, context, options, overlays, headers, attempt),
  );
}

/**
 * Prefect retries only what its patterns match; connection-level failures are retried too. What
 * the client decided (a context it cannot read, a bad argument) is never worth another try.
 */
function isTransient(error: unknown): boolean {
  if (
    error instanceof BuildContextError ||
    error instanceof InvalidArgumentError ||
    error instanceof DockerfileNotFoundError
  ) {
    return false;
  }
  return error instanceof BuildError
    ? isTransientMessage(error.message) || isTransientError(error)
    : isTransientError(error);
}

async function buildOnce(
  engine: EngineConnection,
  contextDir: string,
  options: NormalizedBuildImageOptions,
  overlays: readonly BuildContextOverlay[],
  headers: Record<string, string>,
  attempt: Attempt,
): Promise<string> {
  const reader = new BuildStream(options);
  let body: Readable | undefined;
  try {
    const buildContext = await createBuildContext(contextDir, {
      dockerfile: options.dockerfile,
      overlays,
      signal: attempt.signal,
      // Upload progress keeps the attempt alive; a hook, not a 'data' listener, so the stream
      // does not start flowing before the request pipes it, however late that is.
      onChunk: () => attempt.touch(),
    });
    body = buildContext.stream;
    body.once("error", (error) => attempt.fail(error));
    const response = await engine.request({
      method: "POST",
      path: "/build",
      query: {
        ...buildQuery(options, buildContext.dockerfile),
        rm: options.rm ? "1" : "0",
        forcerm: options.forceRm ? "1" : "0",
        squash: options.squash ? "1" : undefined,
      },
      body,
      headers,
      signal: attempt.signal,
    });
    await readResponse(response, attempt, (line) => reader.handle(line));
  } catch (error) {
    body?.destroy();
    if (attempt.signal.aborted) throw attempt.reason;
    if (error instanceof BuildError) throw error;
    if (error instanceof EngineHttpError) {
      throw reader.error(error.message, { statusCode: error.statusCode, cause: error });
    }
    throw error;
  }
  const imageId = reader.imageId ?? (await findBuiltImage(engine, options.tag, reader.logTail));
  if (!imageId) {
    throw reader.error("The Docker daemon did not return an image ID");
  }
  return imageId;
}

/** When the engine sent no `aux.ID` (older engines), the image is found by its tag or short ID. */
async function findBuiltImage(
  engine: EngineConnection,
  tag: string | undefined,
  lines: readonly string[],
): Promise<string | undefined> {
  const built = lines
    .map((line) => /^Successfully built ([0-9a-f]{12,64})$/.exec(line)?.[1])
    .findLast((id) => id !== undefined);
  const reference =
    built ?? (lines.some((line) => line.startsWith("Successfully tagged")) ? tag : undefined);
  if (!reference) return undefined;
  try {
    const inspected = (await engine.requestJson({
      method: "GET",
      path: enginePath`/images/${reference}/json`,
    })) as { Id?: unknown } | undefined;
    return typeof inspected?.Id === "string" ? inspected.Id : undefined;
  } catch {
    return undefined;
  }
}
