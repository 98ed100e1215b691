/**
 * Errors that come from the caller's own callbacks: an `onProgress` listener that throws, a
 * `streamProgressTo` whose `write` throws or that emits `error`. They end the operation as they
 * are (never wrapped, never retried, whatever their `code` or text says), as an aborted signal's
 * reason does.
 * @module
 */
import type { ProgressListener } from "./progress.js";

/** Marks by identity: the error object the caller threw stays the one the operation rejects with. */
const callerErrors = new WeakSet<object>();

/** Marks `error` as the caller's and returns it. */
export function callerError(error: unknown): unknown {
  if ((typeof error === "object" && error !== null) || typeof error === "function") {
    callerErrors.add(error);
  }
  return error;
}

/**
 * Whether `error` came from a caller's callback. A thrown primitive (`throw "stop"`) cannot be
 * marked, but it is no `Error`, so nothing retries or wraps it anyway.
 */
export function isCallerError(error: unknown): boolean {
  return typeof error === "object" && error !== null && callerErrors.has(error);
}

/** `listener`, with whatever it throws marked as the caller's; `undefined` stays `undefined`. */
export function guardedListener(
  listener: ProgressListener | undefined,
): ProgressListener | undefined {
  if (listener === undefined) return undefined;
  return (event) => {
    try {
      listener(event);
    } catch (error) {
      throw callerError(error);
    }
  };
}
