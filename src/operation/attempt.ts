import type { IncomingMessage } from "node:http";
import type { DebugLogger } from "../debug-logger.js";
import { InactivityTimeoutError } from "../errors.js";
import { callerError } from "../streams/caller-error.js";
import { type JsonLine, readJsonLines } from "../streams/json-lines.js";
import type { RetryEvent } from "../streams/progress.js";
import type { NormalizedOperationOptions } from "./operation-options.js";
import { withRetries } from "./retry.js";

/**
 * One attempt of an operation, whose `signal` fires when the caller's does, on {@link Attempt.fail}
 * or after `inactivityTimeoutMs` without {@link Attempt.touch}. Disposing removes every listener.
 */
export class Attempt implements Disposable {
  readonly #controller = new AbortController();
  readonly #outer: AbortSignal | undefined;
  readonly #timeoutMs: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #onOuterAbort = () => this.#controller.abort(this.#outer?.reason);
  readonly #watched: {
    readonly stream: NodeJS.EventEmitter;
    readonly onError: (error: unknown) => void;
  }[] = [];

  constructor(outer: AbortSignal | undefined, inactivityTimeoutMs: number | undefined) {
    this.#outer = outer;
    this.#timeoutMs =
      inactivityTimeoutMs && inactivityTimeoutMs > 0 ? inactivityTimeoutMs : undefined;
    outer?.throwIfAborted();
    outer?.addEventListener("abort", this.#onOuterAbort, { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  touch(): void {
    if (this.#timeoutMs === undefined || this.#controller.signal.aborted) return;
    if (this.#timer) {
      this.#timer.refresh();
      return;
    }
    const timeoutMs = this.#timeoutMs;
    this.#timer = setTimeout(() => this.fail(new InactivityTimeoutError(timeoutMs)), timeoutMs);
    this.#timer.unref();
  }

  fail(reason: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  /** Fails the attempt with an `error` the caller's `stream` emits (never killing the process). */
  failOnStreamError(stream: NodeJS.EventEmitter | undefined): void {
    if (stream === undefined || typeof stream.on !== "function") return;
    const onError = (error: unknown) => this.fail(callerError(error));
    stream.once("error", onError);
    this.#watched.push({ stream, onError });
  }

  /**
   * Fails the attempt when a watched stream failed without saying so yet: Node records a failed
   * write at once (`errored`) but emits `error` a tick later, possibly after the operation ended.
   */
  checkStreams(): void {
    for (const { stream } of this.#watched) {
      const errored = (stream as { errored?: unknown }).errored;
      if (errored !== null && errored !== undefined) this.fail(callerError(errored));
    }
  }

  /** What to reject with once the signal fired: the caller's reason when the caller aborted. */
  get reason(): unknown {
    return this.#outer?.aborted ? this.#outer.reason : this.#controller.signal.reason;
  }

  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    this.#outer?.removeEventListener("abort", this.#onOuterAbort);
    for (const { stream, onError } of this.#watched) {
      // A stream that failed keeps the listener until its `error` comes (it comes once, a tick
      // after the failure): the attempt already failed with it, and it must not kill the process.
      const errored = (stream as { errored?: unknown }).errored;
      if (errored === null || errored === undefined) stream.off("error", onError);
    }
  }
}

/**
 * Reads an engine response's JSON lines, each keeping the attempt alive. When the attempt aborts,
 * the response is destroyed at once (releasing the socket) and the attempt's reason thrown.
 */
export async function readResponse(
  response: IncomingMessage,
  attempt: Attempt,
  onLine: (line: JsonLine) => void,
): Promise<void> {
  const onAbort = () => response.destroy();
  if (attempt.signal.aborted) onAbort();
  attempt.signal.addEventListener("abort", onAbort, { once: true });
  try {
    await readJsonLines(response, (line) => {
      attempt.touch();
      onLine(line);
    });
  } finally {
    attempt.signal.removeEventListener("abort", onAbort);
  }
  attempt.checkStreams();
  if (attempt.signal.aborted) throw attempt.reason;
}

/** What {@link runAttempts} reads of an operation's normalised options. */
export type AttemptSettings = Pick<
  NormalizedOperationOptions,
  | "retries"
  | "retryDelayMs"
  | "retryJitter"
  | "signal"
  | "inactivityTimeoutMs"
  | "streamProgressTo"
  | "onProgress"
>;

/** How {@link runAttempts} retries an operation and tells about it. */
export interface AttemptPolicy {
  readonly operation: RetryEvent["operation"];
  /** The operation in debug lines, e.g. `push of ghcr.io/team/app:1`. */
  readonly what: string;
  readonly debug: DebugLogger;
  /** @default isTransientError */
  readonly isTransient?: ((error: unknown) => boolean) | undefined;
}

/**
 * The one runner of attempts and retries (`withRetries`): each attempt gets an {@link Attempt},
 * failed also by an error of `streamProgressTo`; each retry is told, before its delay, as a
 * `retry` progress event and a debug line.
 */
export function runAttempts<T>(
  settings: AttemptSettings,
  policy: AttemptPolicy,
  run: (attempt: Attempt, attemptNumber: number) => Promise<T>,
): Promise<T> {
  const { onProgress } = settings;
  return withRetries(
    async (attemptNumber) => {
      using attempt = new Attempt(settings.signal, settings.inactivityTimeoutMs);
      attempt.failOnStreamError(settings.streamProgressTo);
      policy.debug("%s (attempt %d)", policy.what, attemptNumber);
      return await run(attempt, attemptNumber);
    },
    {
      ...settings,
      ...(policy.isTransient ? { isTransient: policy.isTransient } : {}),
      onRetry: ({ attempt, maxAttempts, delayMs, error }) => {
        policy.debug(
          "%s failed (attempt %d/%d): %s; retrying in %d ms",
          policy.what,
          attempt,
          maxAttempts,
          error.message,
          delayMs,
        );
        onProgress?.({
          type: "retry",
          operation: policy.operation,
          attempt,
          maxAttempts,
          delayMs,
          error,
        });
      },
    },
  );
}
