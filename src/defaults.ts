/**
 * Every default and limit of the library in one place.
 * @module
 */

/** Retries after the first attempt of a build or push (Prefect's `_BUILD_MAX_RETRIES`). */
export const DEFAULT_RETRIES = 3;
/** Upper bound of `retries`: more would keep an operation retrying for days. */
export const MAX_RETRIES = 10;
/** Base of the exponential backoff: 2, 4 and 8 s (Prefect's `_BUILD_RETRY_DELAY_BASE`). */
export const DEFAULT_RETRY_DELAY_MS = 2_000;
/** Upper bound of `retryDelayMs` (10 minutes). */
export const MAX_RETRY_DELAY_MS = 600_000;
/** Random extra delay as a fraction of each delay; Prefect has none. */
export const DEFAULT_RETRY_JITTER = 0;
/** `inactivityTimeoutMs`: 0 means no inactivity timeout. */
export const DEFAULT_INACTIVITY_TIMEOUT_MS = 0;
/** Largest timeout any option accepts: what `setTimeout` can wait (about 24.8 days). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** How long removing a push's tags or images may take: a silent engine must not hang the push. */
export const CLEANUP_TIMEOUT_MS = 10_000;

/** How long `checkEngine` waits for `/_ping`. */
export const DEFAULT_PING_TIMEOUT_MS = 2_000;
/** The same for `ssh://` endpoints, whose handshake takes longer. */
export const DEFAULT_SSH_PING_TIMEOUT_MS = 10_000;

/** How long a credential helper may run: one waiting on a keychain prompt would hang forever. */
export const DEFAULT_CREDENTIAL_HELPER_TIMEOUT_MS = 30_000;
/** The most a credential helper may print before it is killed (its answer is a small JSON). */
export const MAX_CREDENTIAL_HELPER_OUTPUT_BYTES = 1024 * 1024;

/** Lines of engine output kept for `BuildError.logTail` and `PushError.logTail`. */
export const LOG_TAIL_LINES = 50;
/** Longest line kept in a log tail; longer ones are cut. */
export const MAX_LOG_TAIL_LINE_CHARS = 4_096;
/** Longest line of the engine's JSON stream; a longer one fails the operation. */
export const MAX_ENGINE_LINE_BYTES = 16 * 1024 * 1024;

/** Largest Dockerfile or `.dockerignore` read into memory. */
export const MAX_CONTROL_FILE_BYTES = 16 * 1024 * 1024;
/** How long a `python3` or `git` probe may run. */
export const PROBE_TIMEOUT_MS = 10_000;

/** The Dockerfile `buildImage` reads, relative to the context. */
export const DEFAULT_DOCKERFILE = "Dockerfile";
/** Upper bound of `retryJitter`: at most double each delay. */
export const MAX_RETRY_JITTER = 1;
/** The engine refuses a `memory` limit under 6 MiB (`Minimum memory limit allowed is 6MB`). */
export const MIN_BUILD_MEMORY_BYTES = 6 * 1024 * 1024;

/** Largest short JSON answer of the engine read into memory (inspect, tag, remove, info). */
export const MAX_ENGINE_JSON_BODY_BYTES = 1024 * 1024;
/** Largest error answer of the engine read for its message; the rest is dropped. */
export const MAX_ENGINE_ERROR_BODY_BYTES = 64 * 1024;
/** Longest image reference accepted: a path is at most 255 characters, a tag 128, a digest ~135. */
export const MAX_IMAGE_REFERENCE_CHARS = 600;
