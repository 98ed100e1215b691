import type { ProgressListener } from "./progress.js";

/** Marks by identity: the error object the caller threw stays the one the operation rejects with. */
const callerErrors = new WeakSet<object>();

/**
 * Marks `error` as thrown by the caller's own callback (`onProgress`, `streamProgressTo`) and
 * returns it: it ends the operation as it is, never wrapped or retried, like an abort reason.
 */
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
