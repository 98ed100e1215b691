/**
 * One push of a repository (and tag) the engine already has: a single `POST /images/{name}/push`,
 * its progress stream read to the end. `pushImage` and the deploy side's `pushReference` both
 * retry it.
 * @module
 */
import type { Writable } from "node:stream";
import { createDebug } from "../debug-logger.js";
import type { EngineConnection } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import { EngineHttpError, PushError } from "../errors.js";
import { Attempt, readResponse } from "../operation/attempt.js";
import { isCallerError } from "../streams/caller-error.js";
import type { ProgressListener } from "../streams/progress.js";
import { PushStream } from "../streams/push-stream.js";

const debug = createDebug("prefect-dockerutils:push");

/** Options of {@link pushAttempt}. */
export interface PushAttemptOptions {
  /** Receives `status[ progress]` lines as Prefect writes them. */
  readonly streamProgressTo?: Writable | undefined;
  /** Receives typed progress events. */
  readonly onProgress?: ProgressListener | undefined;
  /** Cancels the push; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Fail when the engine sends nothing for this many milliseconds; 0 or undefined disables. */
  readonly inactivityTimeoutMs?: number | undefined;
}

/** What the registry confirmed. */
export interface PushedDigest {
  readonly digest: string;
  readonly size: number | undefined;
}

/**
 * Pushes `repository` (one `tag`, or every tag when `undefined`) once and resolves to the digest
 * the registry confirmed. Rejects with a {@link PushError} carrying the log tail, or with the
 * signal's reason.
 */
export async function pushAttempt(
  engine: EngineConnection,
  repository: string,
  tag: string | undefined,
  authHeader: string,
  options: PushAttemptOptions,
  attemptNumber: number,
): Promise<PushedDigest> {
  using attempt = new Attempt(options.signal, options.inactivityTimeoutMs);
  const reader = new PushStream({
    streamProgressTo: options.streamProgressTo,
    onProgress: options.onProgress,
    tag: tag ?? "",
  });
  debug("push %s:%s (attempt %d)", repository, tag ?? "*", attemptNumber);
  attempt.failOnStreamError(options.streamProgressTo);
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
    if (error instanceof PushError || isCallerError(error)) throw error;
    throw new PushError(engineErrorText(error), {
      statusCode: engineStatusOf(error),
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

/** The engine's own text of a failed request: its JSON `message` when it sent one. */
export function engineErrorText(error: unknown): string {
  if (error instanceof EngineHttpError) return error.message;
  const json = (error as { json?: { message?: unknown } } | undefined)?.json;
  if (json && typeof json.message === "string") return json.message;
  return error instanceof Error ? error.message : String(error);
}

/** The HTTP status of a failed request, when it has one. */
export function engineStatusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === "number" ? status : undefined;
}
