/**
 * Pushing an image to a registry.
 * @module
 */
import type { Writable } from "node:stream";
import createDebug from "debug";
import type Docker from "dockerode";
import { type CredentialOptions, registryAuthHeader } from "../engine/credentials.js";
import { type EngineConnection, openEngine } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import { EngineHttpError, InvalidArgumentError, PushError } from "../errors.js";
import { slugify } from "../python/slugify.js";
import { Attempt, readResponse } from "../streams/attempt.js";
import type { ProgressListener } from "../streams/progress.js";
import { PushStream } from "../streams/push-stream.js";
import { type RetryOptions, withRetries } from "../streams/retry.js";
import { nowMicroseconds, pythonUtcIsoformat, registryHost } from "./registry-url.js";

const debug = createDebug("prefect-dockerutils:push");

/** Options of {@link pushImage}. */
export interface PushImageOptions extends RetryOptions {
  /**
   * The tag to push. @default the slug of the current UTC time, as Prefect makes it
   * (e.g. `2026-11-27t03-52-22-123456-00-00`)
   */
  readonly tag?: string;
  /**
   * Receives one line per status message of the push (`status` and ` progress`), as Prefect
   * writes them. Nothing is written anywhere when it is absent.
   */
  readonly streamProgressTo?: Writable;
  /** Receives typed progress events. */
  readonly onProgress?: ProgressListener;
  /** Cancels the push; the temporary registry tag is still removed. */
  readonly signal?: AbortSignal;
  /** Fail when the engine sends nothing for this many milliseconds; 0 disables. @default 0 */
  readonly inactivityTimeoutMs?: number;
  /**
   * Credentials for the registry, overriding the Docker configuration: one login, or a map from
   * registry host to login.
   * @default the Docker configuration's (`DOCKER_CONFIG` or `~/.docker/config.json`)
   */
  readonly auth?: CredentialOptions["auth"];
  /**
   * The environment to find the engine and the Docker configuration in.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** The engine client. @default dockerClient({ env }) */
  readonly docker?: Docker;
  /** The clock for the default tag, in microseconds since the epoch. */
  readonly now?: () => bigint;
}

/** What {@link pushImageDetailed} resolves to. */
export interface PushResult {
  /** `<registry host>/<name>:<tag>`, what {@link pushImage} resolves to. */
  readonly reference: string;
  /** The tag that was pushed. */
  readonly tag: string;
  /** The manifest digest the registry confirmed, `sha256:...`. */
  readonly digest: string;
  /** The manifest size in bytes, when the engine reports it. */
  readonly size: number | undefined;
}

/**
 * Pushes a local image to a registry and resolves to the registry-qualified reference,
 * `<registry host>/<name>:<tag>`.
 *
 * The image is tagged with that reference for the push, and the tag is removed afterwards
 * (without pruning the image) whether the push succeeded, failed or was cancelled. Errors, also
 * those inside the engine's progress stream, reject with a {@link PushError}.
 *
 * @example
 * ```ts
 * const ref = await pushImage(imageId, "http://localhost:5000", "team/app", { tag: "v1" });
 * // "localhost:5000/team/app:v1"
 * ```
 */
export async function pushImage(
  imageId: string,
  registryUrl: string,
  name: string,
  options: PushImageOptions = {},
): Promise<string> {
  return (await pushImageDetailed(imageId, registryUrl, name, options)).reference;
}

/** Like {@link pushImage}, and also resolves to the pushed digest. */
export async function pushImageDetailed(
  imageId: string,
  registryUrl: string,
  name: string,
  options: PushImageOptions = {},
): Promise<PushResult> {
  const { signal, onProgress, now = nowMicroseconds } = options;
  if (!imageId || typeof imageId !== "string") {
    throw new InvalidArgumentError(
      `imageId must be an image ID or name, got ${JSON.stringify(imageId)}`,
    );
  }
  if (!name || typeof name !== "string") {
    throw new InvalidArgumentError(
      `name must be a repository name such as "my-image" or "team/my-image", got ${JSON.stringify(name)}`,
    );
  }
  const host = registryHost(registryUrl);
  signal?.throwIfAborted();
  const tag = options.tag || slugify(pythonUtcIsoformat(now()));
  const repository = `${host}/${name}`;
  const reference = `${repository}:${tag}`;
  const { env, auth } = options;
  const engine = openEngine({ docker: options.docker, env });
  await engine.ping(signal ? { signal } : {});
  const authHeader = await registryAuthHeader(reference, {
    ...(env ? { env } : {}),
    ...(auth ? { auth } : {}),
  });

  try {
    await engine.requestJson({
      method: "POST",
      path: enginePath`/images/${imageId}/tag`,
      query: { repo: repository, tag },
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    signal?.throwIfAborted();
    throw new PushError(errorText(error), { statusCode: statusOf(error), cause: error });
  }
  try {
    const pushed = await withRetries(
      (attempt) => pushOnce(engine, repository, tag, authHeader, options, attempt),
      {
        ...options,
        signal,
        onRetry: ({ attempt, maxAttempts, delayMs, error }) => {
          debug(
            "push failed (attempt %d/%d): %s. Retrying in %d ms",
            attempt,
            maxAttempts,
            error.message,
            delayMs,
          );
          onProgress?.({ type: "retry", operation: "push", attempt, maxAttempts, delayMs, error });
        },
      },
    );
    return { reference, tag, ...pushed };
  } finally {
    // Prefect's push always removes its registry tag; noprune keeps the image itself.
    await engine
      .requestJson({
        method: "DELETE",
        path: enginePath`/images/${reference}`,
        query: { noprune: "1" },
      })
      .catch((error: unknown) => debug("could not remove %s: %s", reference, errorText(error)));
  }
}

async function pushOnce(
  engine: EngineConnection,
  repository: string,
  tag: string,
  authHeader: string,
  options: PushImageOptions,
  attemptNumber: number,
): Promise<{ digest: string; size: number | undefined }> {
  using attempt = new Attempt(options.signal, options.inactivityTimeoutMs);
  const reader = new PushStream({ ...options, tag });
  debug("push %s:%s (attempt %d)", repository, tag, attemptNumber);
  try {
    const response = await engine.request({
      method: "POST",
      path: enginePath`/images/${repository}/push`,
      query: { tag },
      headers: { "X-Registry-Auth": authHeader },
      signal: attempt.signal,
    });
    await readResponse(response, attempt, (line) => reader.handle(line));
  } catch (error) {
    if (attempt.signal.aborted) throw attempt.reason;
    if (error instanceof PushError) throw error;
    throw new PushError(errorText(error), {
      statusCode: statusOf(error),
      logTail: reader.logTail,
      cause: error,
    });
  }
  if (!reader.pushed) {
    throw new PushError("The push ended without the registry confirming a digest", {
      logTail: reader.logTail,
    });
  }
  return reader.pushed;
}

function errorText(error: unknown): string {
  if (error instanceof EngineHttpError) return error.message;
  const json = (error as { json?: { message?: unknown } } | undefined)?.json;
  if (json && typeof json.message === "string") return json.message;
  return error instanceof Error ? error.message : String(error);
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === "number" ? status : undefined;
}
