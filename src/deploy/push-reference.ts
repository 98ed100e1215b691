/**
 * Pushing a local image under the name it already has, as docker-py's `client.api.push()` does
 * for Prefect's `DockerImage.push()` and `push_docker_image`: no re-tagging and no tag removed
 * afterwards (unlike `pushImage`, which pushes a temporary registry tag).
 * @module
 */
import type { Writable } from "node:stream";
import type Docker from "dockerode";
import { createDebug } from "../debug-logger.js";
import { type CredentialOptions, registryAuthHeader } from "../engine/credentials.js";
import { type EngineConnection, openEngine } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import { EngineHttpError, PushError } from "../errors.js";
import { Attempt, readResponse } from "../streams/attempt.js";
import type { ProgressListener } from "../streams/progress.js";
import { PushStream } from "../streams/push-stream.js";
import { type RetryOptions, withRetries } from "../streams/retry.js";
import { validateReference } from "./deploy-image-name.js";

const debug = createDebug("prefect-dockerutils:deploy");

/** Options of {@link pushReference}. */
export interface PushReferenceOptions extends RetryOptions {
  /** Receives `status[ progress]` lines as Prefect writes them. */
  readonly streamProgressTo?: Writable | undefined;
  /** Receives typed progress events. */
  readonly onProgress?: ProgressListener | undefined;
  /** Cancels the push. */
  readonly signal?: AbortSignal | undefined;
  /** Fail when the engine sends nothing for this many milliseconds; 0 disables. */
  readonly inactivityTimeoutMs?: number | undefined;
  /** Credentials overriding the Docker configuration, for this push only. */
  readonly auth?: CredentialOptions["auth"] | undefined;
  /** The environment to find the engine and the Docker configuration in. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** The engine client. */
  readonly docker?: Docker | undefined;
}

/** What {@link pushReference} resolves to. */
export interface PushedReference {
  /** `repository:tag`, or the repository alone when every tag was pushed. */
  readonly reference: string;
  /** The manifest digest the registry confirmed last. */
  readonly digest: string;
  /** The manifest size in bytes, when the engine reports it. */
  readonly size: number | undefined;
}

/**
 * Pushes `repository:tag` as it is tagged in the engine, with the credentials the Docker
 * configuration (or `auth`) has for its registry; the engine is never logged in. Without a tag,
 * every local tag of the repository is pushed, as the Engine API (and so docker-py) does.
 * Transient failures are retried as `pushImage` retries them.
 *
 * @throws InvalidArgumentError for a reference the docker CLI would not accept.
 * @throws PushError for every failure the engine or registry reports.
 */
export async function pushReference(
  repository: string,
  tag: string | undefined,
  options: PushReferenceOptions = {},
): Promise<PushedReference> {
  const reference = tag === undefined ? repository : `${repository}:${tag}`;
  validateReference(repository, tag ?? null, "The image to push");
  const { signal, env, auth, onProgress } = options;
  signal?.throwIfAborted();
  const engine = openEngine({ docker: options.docker, env });
  await engine.ping(signal ? { signal } : {});
  const authHeader = await registryAuthHeader(reference, {
    ...(env ? { env } : {}),
    ...(auth ? { auth } : {}),
  });
  const pushed = await withRetries(
    (attempt) => pushOnce(engine, repository, tag, authHeader, options, attempt),
    {
      ...options,
      signal,
      onRetry: ({ attempt, maxAttempts, delayMs, error }) => {
        debug("push of %s failed (attempt %d/%d): %s", reference, attempt, maxAttempts, error);
        onProgress?.({ type: "retry", operation: "push", attempt, maxAttempts, delayMs, error });
      },
    },
  );
  return { reference, ...pushed };
}

async function pushOnce(
  engine: EngineConnection,
  repository: string,
  tag: string | undefined,
  authHeader: string,
  options: PushReferenceOptions,
  attemptNumber: number,
): Promise<{ digest: string; size: number | undefined }> {
  using attempt = new Attempt(options.signal, options.inactivityTimeoutMs);
  const reader = new PushStream({
    streamProgressTo: options.streamProgressTo,
    onProgress: options.onProgress,
    tag: tag ?? "",
  });
  debug("push %s:%s (attempt %d)", repository, tag ?? "*", attemptNumber);
  try {
    const response = await engine.request({
      method: "POST",
      path: enginePath`/images/${repository}/push`,
      query: tag === undefined ? {} : { tag },
      headers: { "X-Registry-Auth": authHeader },
      signal: attempt.signal,
    });
    await readResponse(response, attempt, (line) => reader.handle(line));
  } catch (error) {
    if (attempt.signal.aborted) throw attempt.reason;
    if (error instanceof PushError) throw error;
    throw new PushError(error instanceof Error ? error.message : String(error), {
      statusCode: error instanceof EngineHttpError ? error.statusCode : undefined,
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
