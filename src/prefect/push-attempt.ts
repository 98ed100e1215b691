/**
 * `POST /images/{name}/push` read to the end and retried as one operation, for `pushImage` and
 * the deploy side's `pushReference`.
 * @module
 */
import type { DebugLogger } from "../debug-logger.js";
import type { EngineConnection } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import { PushError } from "../errors.js";
import {
  type Attempt,
  type AttemptSettings,
  readResponse,
  runAttempts,
} from "../operation/attempt.js";
import { isCallerError } from "../streams/caller-error.js";
import { PushStream } from "../streams/push-stream.js";
import { asPushError } from "./push-errors.js";

/** What the registry confirmed. */
export interface PushedDigest {
  readonly digest: string;
  readonly size: number | undefined;
}

/**
 * Pushes `repository` (one `tag`, or every tag when `undefined`), retrying transient failures,
 * and resolves to the digest the registry confirmed.
 * @throws PushError carrying the log tail, or the signal's reason.
 */
export function pushRepository(
  engine: EngineConnection,
  repository: string,
  tag: string | undefined,
  authHeader: string,
  settings: AttemptSettings,
  debug: DebugLogger,
): Promise<PushedDigest> {
  const what = `push of ${repository}:${tag ?? "*"}`;
  return runAttempts(settings, { operation: "push", what, debug }, (attempt) =>
    pushOnce(engine, repository, tag, authHeader, settings, attempt),
  );
}

async function pushOnce(
  engine: EngineConnection,
  repository: string,
  tag: string | undefined,
  authHeader: string,
  settings: AttemptSettings,
  attempt: Attempt,
): Promise<PushedDigest> {
  const reader = new PushStream({
    streamProgressTo: settings.streamProgressTo,
    onProgress: settings.onProgress,
    tag: tag ?? "",
  });
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
    if (isCallerError(error)) throw error;
    throw asPushError(error, reader.logTail);
  }
  if (!reader.pushed) {
    throw new PushError("The push ended without the registry confirming a digest", {
      logTail: reader.logTail,
    });
  }
  return reader.pushed;
}
