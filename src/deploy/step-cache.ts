/**
 * prefect-docker's `@cacheable`: a step run again in one process with the same inputs returns the
 * first run's result, so deployments sharing one image build and push it once.
 * @module
 */
import { createDebug } from "../debug-logger.js";

const debug = createDebug("prefect-dockerutils:steps");

const caches = new Set<{ clear(): void }>();

/** One run of a step, shared by the callers that asked for it while it ran, then cached. */
interface SharedRun<T> {
  readonly result: Promise<T>;
  /** Aborted once no caller waits for the run any more. */
  readonly controller: AbortController;
  /** A caller without a signal never stops waiting. */
  waiters: number;
  settled: boolean;
}

/** One step's cache: a build and a push with the same inputs never share a result. */
export class StepCache<T> {
  readonly #name: string;
  readonly #runs = new Map<string, SharedRun<T>>();

  constructor(name: string) {
    this.#name = name;
    caches.add(this);
  }

  /**
   * Runs `work` unless a run with the same `key` succeeded or is under way, whose result is then
   * shared; a failed run is forgotten, as Prefect caches only what returned. `force` always runs.
   * Aborting `signal` rejects this caller alone; `work`'s signal aborts once every caller has.
   */
  run(
    key: string,
    force: boolean,
    work: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let shared = force ? undefined : this.#runs.get(key);
    if (shared) {
      debug("Cache hit for %s, returning cached value.", this.#name);
    } else {
      debug(
        force ? "Ignoring the cache for %s." : "Cache miss for %s, running function.",
        this.#name,
      );
      shared = this.#start(key, work);
    }
    return this.#wait(key, shared, signal);
  }

  #start(key: string, work: (signal: AbortSignal) => Promise<T>): SharedRun<T> {
    const controller = new AbortController();
    // Async, so that a synchronous throw becomes a rejection.
    const result = (async () => work(controller.signal))();
    const shared: SharedRun<T> = { result, controller, waiters: 0, settled: false };
    this.#runs.set(key, shared);
    result.then(
      () => {
        shared.settled = true;
      },
      () => {
        shared.settled = true;
        if (this.#runs.get(key) === shared) this.#runs.delete(key);
      },
    );
    return shared;
  }

  #wait(key: string, shared: SharedRun<T>, signal: AbortSignal | undefined): Promise<T> {
    shared.waiters++;
    if (shared.settled || signal === undefined) return shared.result;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        shared.waiters--;
        if (shared.waiters > 0 || shared.settled) {
          reject(signal.reason);
          return;
        }
        // Nobody waits any more: stop the run, forget it, and reject once it has cleaned up
        // (a temporary Dockerfile, a registry tag).
        if (this.#runs.get(key) === shared) this.#runs.delete(key);
        shared.controller.abort(signal.reason);
        const done = () => reject(signal.reason);
        shared.result.then(done, done);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      shared.result.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(signal.aborted ? signal.reason : error);
        },
      );
    });
  }

  /** Forgets every result; runs under way go on for the callers waiting for them. */
  clear(): void {
    this.#runs.clear();
  }
}

/** Forgets every cached step result, like resetting prefect-docker's `STEP_OUTPUT_CACHE`. */
export function clearStepCache(): void {
  for (const cache of caches) cache.clear();
}

/** The cache key of a step's inputs: JSON with sorted keys (prefect-docker's sorted kwargs). */
export function stepCacheKey(inputs: Readonly<Record<string, unknown>>): string {
  return stableJson(inputs);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
