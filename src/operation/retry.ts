import { setTimeout as sleep } from "node:timers/promises";
import { isCallerError } from "../streams/caller-error.js";

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
export const TRANSIENT_ERROR_PATTERNS: readonly string[] = Object.freeze([
  "502 Bad Gateway",
  "503 Service Unavailable",
  "500 Internal Server Error",
  "i/o timeout",
  "TLS handshake timeout",
  "connection reset",
  "context deadline exceeded",
]);

/** An engine or registry message, matched case-insensitively in the error's or a cause's. */
export interface KnownMessage {
  readonly text: string;
  /** Where the message is made, so the entry can be checked against the source. */
  readonly source: string;
}

/**
 * Registry answers to concurrent pushes of the same content to one repository, which another
 * attempt gets past: seen among 20 concurrent pushes to Debian's docker-registry 2.8
 * (`test/fixtures/engine-streams/push-race-digest-invalid.jsonl`).
 */
export const REGISTRY_RACE_MESSAGES: readonly KnownMessage[] = [
  {
    text: "digest invalid",
    source:
      "distribution/distribution registry/api/v2/errors.go: ErrorCodeDigestInvalid (DIGEST_INVALID)",
  },
  {
    text: "manifest blob unknown",
    source:
      "distribution/distribution registry/api/v2/errors.go: ErrorCodeManifestBlobUnknown (MANIFEST_BLOB_UNKNOWN)",
  },
];

/**
 * Messages of failures that repeat every time: the engine answers HTTP 500 for every error it does
 * not classify, so the status cannot tell. Recorded in `test/fixtures/engine-errors.json`.
 */
export const DETERMINISTIC_MESSAGES: readonly KnownMessage[] = [
  { text: "unauthorized", source: "registry UNAUTHORIZED (distribution registry/api/errcode)" },
  { text: "authentication required", source: "registry UNAUTHORIZED message" },
  {
    text: "no basic auth credentials",
    source: "distribution registry/client/auth: ErrNoBasicAuthCredentials",
  },
  { text: "denied", source: "registry DENIED; moby distribution: pull access denied" },
  { text: "manifest unknown", source: "registry MANIFEST_UNKNOWN" },
  { text: "not found", source: "moby errdefs.NotFound texts: manifest, network, image" },
  { text: "no such image", source: "moby daemon/images: ErrImageDoesNotExist (404)" },
  {
    text: "an image does not exist locally with the tag",
    source: "moby distribution/push.go (in the push stream)",
  },
  {
    text: "cannot locate specified dockerfile",
    source: "moby builder/remotecontext/detect.go: withDockerfileFromContext (HTTP 500)",
  },
  {
    text: "unexpected error reading dockerfile",
    source:
      "moby builder/remotecontext/detect.go: readAndParseDockerfile, e.g. the Dockerfile path is a folder (HTTP 500)",
  },
  {
    text: "forbidden path outside the build context",
    source: "moby builder/remotecontext/detect.go: FullPath (HTTP 500), and COPY",
  },
  {
    text: "invalid reference format",
    source:
      "distribution/reference: ErrReferenceInvalidFormat, for the build's `t`, a push or a tag, and FROM (HTTP 500)",
  },
  {
    text: "repository name must",
    source: "distribution/reference: ErrNameContainsUppercase, ErrNameTooLong (HTTP 500)",
  },
  {
    text: "returned a non-zero code",
    source: "moby builder/dockerfile/internals.go: a RUN that failed",
  },
  { text: "copy failed", source: "moby builder/dockerfile/copy.go: COPY/ADD sources" },
  {
    text: "when using copy with more than one source file",
    source: "moby builder/dockerfile/dispatchers.go",
  },
  {
    text: "dockerfile parse error",
    source: "buildkit frontend/dockerfile/parser (HTTP 400)",
  },
  { text: "unknown instruction", source: "buildkit frontend/dockerfile/parser (HTTP 400)" },
  {
    text: "requires buildkit",
    source: "moby builder/dockerfile/dispatchers.go: --mount, --chmod on the classic builder",
  },
  {
    text: "failed to process",
    source: "moby builder/dockerfile: variable substitution (shell lexer) errors",
  },
];

/** Prefect's test for a transient build error. */
export function isTransientMessage(message: string): boolean {
  const lower = message.toLowerCase();
  return TRANSIENT_ERROR_PATTERNS.some((pattern) => lower.includes(pattern.toLowerCase()));
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_WORDS =
  /\b(eof|unexpected eof|too many requests|service unavailable|bad gateway|gateway timeout)\b/;

const mentions = (lower: string, known: readonly KnownMessage[]): boolean =>
  known.some(({ text }) => lower.includes(text));

/**
 * Whether an error is worth retrying, judged by what the engine said, in this order:
 *
 * 1. a registry race between concurrent pushes ({@link REGISTRY_RACE_MESSAGES}): retried;
 * 2. Prefect's patterns ({@link TRANSIENT_ERROR_PATTERNS}): retried, as Prefect retries them;
 * 3. a known deterministic failure ({@link DETERMINISTIC_MESSAGES}), whatever its HTTP status:
 *    never retried (authentication, missing images and manifests, Dockerfile, RUN and COPY
 *    failures, invalid references, a Dockerfile path that is a folder);
 * 4. connection resets and EOFs, and the statuses 408, 429 and 5xx: retried.
 *
 * An HTTP 500 with a message none of these know is retried: the engine answers 500 both for
 * deterministic errors it does not classify and for trouble reaching a registry.
 */
export function isTransientError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const texts = [error.message];
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause)
    texts.push(cause.message);
  const lower = texts.join("\n").toLowerCase();
  if (mentions(lower, REGISTRY_RACE_MESSAGES)) return true;
  if (texts.some(isTransientMessage)) return true;
  if (mentions(lower, DETERMINISTIC_MESSAGES)) return false;
  if (TRANSIENT_WORDS.test(lower)) return true;
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
 * Runs `attempt` until it succeeds, fails for good or runs out of retries; `onRetry` hears of each
 * retry before its delay, which aborting the signal ends.
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
      // The caller's own callbacks failed: another attempt would only call them again.
      if (signal?.aborted || isCallerError(error) || number >= maxAttempts || !isTransient(error)) {
        throw error;
      }
      const delayMs = retryDelay(number, options);
      onRetry?.({ attempt: number, maxAttempts, delayMs, error: error as Error });
      await sleep(delayMs, undefined, signal ? { signal } : undefined).catch(() => {
        throw signal?.reason;
      });
    }
  }
}
