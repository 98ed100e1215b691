/**
 * Ctrl-C and `kill`: the first SIGINT or SIGTERM aborts the operation, so the library cleans up
 * before the process exits; a second one exits at once.
 * @module
 */

/** The signals the command line cancels on, with the exit code each gives (128 + number). */
export const CANCEL_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

/** A cancelling signal's name. */
export type CancelSignal = keyof typeof CANCEL_SIGNALS;

/** The reason an operation was aborted with: which signal arrived. */
export class Cancelled extends Error {
  override readonly name = "Cancelled";
  constructor(readonly signal: CancelSignal) {
    super(`cancelled by ${signal}`);
  }
}

/** Where signals come from: `process`, or a test's stand-in. */
export interface SignalSource {
  on(signal: CancelSignal, listener: () => void): unknown;
  off(signal: CancelSignal, listener: () => void): unknown;
}

/** Listens for SIGINT and SIGTERM: `signal` aborts at the first, `onSecond` runs at the second. */
export class Cancellation implements Disposable {
  readonly #controller = new AbortController();
  readonly #source: SignalSource;
  readonly #listeners: [CancelSignal, () => void][] = [];

  constructor(source: SignalSource, onSecond: (signal: CancelSignal) => void) {
    this.#source = source;
    for (const name of Object.keys(CANCEL_SIGNALS) as CancelSignal[]) {
      const listener = () => {
        if (this.#controller.signal.aborted) onSecond(name);
        else this.#controller.abort(new Cancelled(name));
      };
      source.on(name, listener);
      this.#listeners.push([name, listener]);
    }
  }

  /** Aborted at the first signal. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The signal that cancelled, if one did. */
  get cancelledBy(): CancelSignal | undefined {
    const reason: unknown = this.#controller.signal.reason;
    return reason instanceof Cancelled ? reason.signal : undefined;
  }

  [Symbol.dispose](): void {
    for (const [name, listener] of this.#listeners) this.#source.off(name, listener);
    this.#listeners.length = 0;
  }
}
