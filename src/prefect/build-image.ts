/**
 * Building an image on the Docker engine.
 * @module
 */
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { registryConfigHeader } from "../auth/credentials.js";
import { type BuildContextOverlay, createBuildContext } from "../build-context/build-context.js";
import { BuildStream } from "../classic/build-stream.js";
import { createDebug } from "../debug-logger.js";
import { buildQuery } from "../engine/build-query.js";
import { type EngineConnection, openEngine } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import {
  BuildContextError,
  BuildError,
  DockerfileNotFoundError,
  EngineHttpError,
  InvalidArgumentError,
} from "../errors.js";
import { Attempt, readResponse } from "../operation/attempt.js";
import type { EngineOperationOptions } from "../operation/operation-options.js";
import { isTransientError, isTransientMessage, withRetries } from "../operation/retry.js";
import {
  type NormalizedBuildImageOptions,
  normalizeBuildImageOptions,
} from "./build-image-options.js";
import { explainExecFormatError } from "./foreign-platform.js";
import { IMAGE_LABELS } from "./labels.js";

const debug = createDebug("prefect-dockerutils:build");

/** A BuildKit secret: exactly one of `value`, `file` or `env`. */
export interface BuildSecret {
  /** The secret itself. */
  readonly value?: string | Uint8Array;
  /** A file whose content is the secret, like `docker build --secret id=x,src=FILE`. */
  readonly file?: string;
  /** An environment variable holding the secret, like `docker build --secret id=x,env=VAR`. */
  readonly env?: string;
}

/** Which builder runs the build. */
export type Builder = "classic" | "buildkit";

/** Options of {@link buildImage}. */
export interface BuildImageOptions extends EngineOperationOptions {
  /**
   * The builder: the classic one, or BuildKit spoken through the Engine API with a session this
   * library serves (secrets, SSH forwarding, cache mounts, private base images, incremental context
   * transfer). Options BuildKit cannot honour (`squash`, `memory`, several platforms at once)
   * reject with an {@link InvalidArgumentError}.
   * @default "buildkit" when the environment has `DOCKER_BUILDKIT=1`, else "classic" (Prefect's)
   */
  readonly builder?: Builder;
  /**
   * BuildKit secrets for `RUN --mount=type=secret,id=<id>`, by id. BuildKit only.
   * @default {}
   */
  readonly secrets?: Readonly<Record<string, BuildSecret>>;
  /**
   * SSH agent sockets for `RUN --mount=type=ssh,id=<id>`, by id (`default` for a plain
   * `--mount=type=ssh`): a socket path, or `true` for `SSH_AUTH_SOCK`. BuildKit only.
   * @default {}
   */
  readonly ssh?: Readonly<Record<string, string | true>>;
  /**
   * The Dockerfile, relative to the context (or absolute: it may live outside the context).
   * @default "Dockerfile"
   */
  readonly dockerfile?: string;
  /**
   * The tag to give the image, e.g. `my-image:latest`: an image reference with a lower-case
   * repository and no digest, checked on the client before anything is sent.
   * @default undefined (no tag)
   */
  readonly tag?: string;
  /** Pull the base image even when the engine has it. @default false */
  readonly pull?: boolean;
  /** Target platform, e.g. `linux/amd64`. @default the engine's */
  readonly platform?: string;
  /** `ARG` values. @default {} */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** The stage to build in a multi-stage Dockerfile. @default the last */
  readonly target?: string;
  /** Build without the cache. @default false */
  readonly noCache?: boolean;
  /**
   * Remove intermediate containers after a successful build. docker-py (and so Prefect) defaults
   * to `false` and leaves them behind; this library defaults to the engine's `true`.
   * @default true
   */
  readonly rm?: boolean;
  /**
   * Remove intermediate containers even when the build fails, so a failed build leaves nothing.
   * @default true
   */
  readonly forceRm?: boolean;
  /** Extra `/etc/hosts` entries, e.g. `{ "db": "127.0.0.1" }`. @default {} */
  readonly extraHosts?: Readonly<Record<string, string>>;
  /** Network mode of RUN steps, e.g. `host` or `none`. @default the engine's */
  readonly networkMode?: string;
  /** Images to use as cache sources. @default [] */
  readonly cacheFrom?: readonly string[];
  /** Size of `/dev/shm` in bytes, a whole number (0: the engine's). @default the engine's */
  readonly shmSize?: number;
  /**
   * Memory limit of RUN steps in bytes: 0 (no limit) or a whole number of at least 6 MiB, the
   * engine's minimum.
   * @default none
   */
  readonly memory?: number;
  /** Squash the new layers into one (experimental engines only). @default false */
  readonly squash?: boolean;
  /**
   * Labels to put on the image besides {@link IMAGE_LABELS}, which win on a clash (as Prefect's
   * deployment steps merge them).
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Builds a Docker image and resolves to its ID (`sha256:` + 64 hex digits).
 *
 * Every image gets the labels in {@link IMAGE_LABELS}. Errors the engine reports, including those
 * inside its (HTTP 200) progress stream, reject with a {@link BuildError} carrying the engine's
 * text. Transient failures are retried as Prefect does (3 retries after 2, 4 and 8 s). Options are
 * checked before anything is read or sent: a bad one rejects with an {@link InvalidArgumentError}
 * naming it.
 *
 * @param context - The folder to send as the build context.
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
 * {@link buildImage} with options already normalised, and the host files the {@link ImageBuilder}
 * adds to the context.
 */
export async function buildImageInternal(
  context: string,
  options: NormalizedBuildImageOptions,
  overlays: readonly BuildContextOverlay[] = [],
): Promise<string> {
  checkContextArgument(context);
  options.signal?.throwIfAborted();
  const info = await stat(context).catch(() => undefined);
  if (!info) {
    throw new InvalidArgumentError(`Context path ${context} does not exist`);
  }
  if (!info.isDirectory()) {
    throw new InvalidArgumentError(
      `Context path ${context} is not a folder; pass the folder that holds the Dockerfile`,
    );
  }
  try {
    return await buildOnEngine(context, options, overlays);
  } catch (error) {
    throw explainExecFormatError(error, options.platform);
  }
}

/** Pings the engine and builds with the builder the options name, retrying transient failures. */
async function buildOnEngine(
  context: string,
  options: NormalizedBuildImageOptions,
  overlays: readonly BuildContextOverlay[],
): Promise<string> {
  const { signal, onProgress, env, auth } = options;
  const engine = openEngine({ docker: options.docker, env });
  // BuildKit's code (its session and wire codecs) loads while the engine answers the ping: at
  // the first build of a process, that is most of the time before the first request.
  const buildKit =
    options.builder === "buildkit" ? import("../buildkit/build-with-buildkit.js") : undefined;
  buildKit?.catch(() => undefined);
  await engine.ping(signal ? { signal } : {});
  // --- The builder dispatch: BuildKit (src/buildkit) is loaded only by the builds that use it. ---
  if (buildKit !== undefined) {
    const { buildWithBuildKit } = await buildKit;
    return buildWithBuildKit(engine, context, {
      ...options,
      labels: { ...options.labels, ...IMAGE_LABELS },
      overlays,
    });
  }
  // --- End of the builder dispatch. ---
  // Every configured registry, as the docker CLI sends them: the engine picks what FROM needs.
  const registryConfig = await registryConfigHeader({
    ...(env ? { env } : {}),
    ...(auth ? { auth } : {}),
    signal,
    credentialHelperTimeoutMs: options.credentialHelperTimeoutMs,
  });
  const headers: Record<string, string> = { "Content-Type": "application/x-tar" };
  if (registryConfig !== undefined) headers["X-Registry-Config"] = registryConfig;
  return withRetries((attempt) => buildOnce(engine, context, options, overlays, headers, attempt), {
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
    retryJitter: options.retryJitter,
    signal,
    isTransient: isTransientBuildError,
    onRetry: ({ attempt, maxAttempts, delayMs, error }) => {
      debug(
        "Docker build encountered transient error (attempt %d/%d): %s. Retrying in %ds...",
        attempt,
        maxAttempts,
        error.message,
        delayMs / 1000,
      );
      onProgress?.({ type: "retry", operation: "build", attempt, maxAttempts, delayMs, error });
    },
  });
}

/**
 * Prefect retries only what its patterns match; connection-level failures are retried too. What
 * the client decided (a context it cannot read, a bad argument) is never worth another try.
 */
function isTransientBuildError(error: unknown): boolean {
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
  attemptNumber: number,
): Promise<string> {
  using attempt = new Attempt(options.signal, options.inactivityTimeoutMs);
  const reader = new BuildStream(options);
  let body: Readable | undefined;
  debug("build %s (attempt %d)", contextDir, attemptNumber);
  attempt.failOnStreamError(options.streamProgressTo);
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
      query: classicQuery(options, buildContext.dockerfile),
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

/** The classic builder's query: the shared build settings, plus what only it takes. */
function classicQuery(
  options: NormalizedBuildImageOptions,
  dockerfile: string,
): Record<string, unknown> {
  return {
    ...buildQuery(options, dockerfile, { ...options.labels, ...IMAGE_LABELS }),
    rm: options.rm ? "1" : "0",
    forcerm: options.forceRm ? "1" : "0",
    squash: options.squash ? "1" : undefined,
  };
}
