/**
 * Retrying transient engine and registry failures.
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";

/** How failures are retried. Prefect's defaults: 3 retries after 2, 4 and 8 seconds. */
export interface RetryOptions {
  /**
   * Retries after the first attempt; 0 disables retrying.
   * @default 3
   */
  readonly retries?: number;
  /**
   * Base of the exponential backoff in milliseconds: the n-th retry waits `base ** n` seconds
   * scaled so that the default gives Prefect's 2, 4 and 8 seconds.
   * @default 2000
   */
  readonly retryDelayMs?: number;
  /**
   * Random extra delay, as a fraction of the delay (0.1 adds up to 10 %), so that many clients
   * failing together do not retry together. Prefect has none.
   * @default 0
   */
  readonly retryJitter?: number;
}

/**
 * Prefect's transient error patterns (`_TRANSIENT_ERROR_PATTERNS`), matched case-insensitively
 * as substrings of the error message.
 */
export const TRANSIENT_ERROR_PATTERNS: readonly string[] = [
  "502 Bad Gateway",
  "503 Service Unavailable",
  "500 Internal Server Error",
  "i/o timeout",
  "TLS handshake timeout",
  "connection reset",
  "context deadline exceeded",
];

/** Failures that are never transient, whatever else the message says. */
const PERMANENT_PATTERNS = [
  "unauthorized",
  "authentication required",
  "no basic auth credentials",
  "denied",
  "manifest unknown",
  "not found",
  "cannot locate specified dockerfile",
  "returned a non-zero code",
  "copy failed",
  "dockerfile parse error",
  "unknown instruction",
];

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Prefect's test for a transient build error: a substring match on its patterns. */
export function isTransientMessage(message: string): boolean {
  const lower = message.toLowerCase();
  return TRANSIENT_ERROR_PATTERNS.some((pattern) => lower.includes(pattern.toLowerCase()));
}

/**
 * Whether an error is worth retrying: Prefect's patterns, plus connection resets and EOFs,
 * and the statuses 408, 429 and 5xx; never authentication, missing manifests, or Dockerfile and
 * RUN failures.
 */
export function isTransientError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const texts = [error.message];
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause)
    texts.push(cause.message);
  const lower = texts.join("\n").toLowerCase();
  if (PERMANENT_PATTERNS.some((pattern) => lower.includes(pattern))) return false;
  if (texts.some(isTransientMessage)) return true;
  if (
    /\b(eof|unexpected eof|too many requests|service unavailable|bad gateway|gateway timeout)\b/.test(
      lower,
    )
  ) {
    return true;
  }
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code && TRANSIENT_CODES.has(code)) return true;
    const status = (current as { statusCode?: unknown }).statusCode;
    if (typeof status === "number" && TRANSIENT_STATUS.has(status)) return true;
  }
  return false;
}

/** The delay before retry number `retry` (1-based). */
export function retryDelay(
  retry: number,
  options: RetryOptions = {},
  random = Math.random,
): number {
  const { retryDelayMs = 2000, retryJitter = 0 } = options;
  const base = retryDelayMs * 2 ** (retry - 1);
  return Math.round(base * (1 + retryJitter * random()));
}

/**
 * Runs `attempt` until it succeeds, fails with a permanent error, or runs out of retries.
 * `onRetry` hears about each retry before its delay. Aborting the signal ends the wait at once.
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: RetryOptions & {
    readonly signal?: AbortSignal | undefined;
    readonly isTransient?: (error: unknown) => boolean;
    readonly onRetry?: (info: {
      attempt: number;
      maxAttempts: number;
      delayMs: number;
      error: Error;
    }) => void;
  } = {},
): Promise<T> {
  const { retries = 3, signal, isTransient = isTransientError, onRetry } = options;
  const maxAttempts = retries + 1;
  for (let number = 1; ; number++) {
    try {
      return await attempt(number);
    } catch (error) {
      if (signal?.aborted || number >= maxAttempts || !isTransient(error)) throw error;
      const delayMs = retryDelay(number, options);
      onRetry?.({ attempt: number, maxAttempts, delayMs, error: error as Error });
      await sleep(delayMs, undefined, signal ? { signal } : undefined).catch(() => {
        throw signal?.reason;
      });
    }
  }
}
