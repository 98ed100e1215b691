/**
 * prefect-docker's `@cacheable`: within one process, a step run again with the same inputs returns
 * the first run's result instead of building or pushing again, so `prefect deploy --all` with N
 * deployments sharing one image builds and pushes it once (PrefectHQ/prefect#12928).
 * @module
 */
import { createDebug } from "../debug-logger.js";

const debug = createDebug("prefect-dockerutils:steps");

const caches = new Set<{ clear(): void }>();

/** One run of a step, shared by the callers that asked for it while it ran, then cached. */
interface SharedRun<T> {
  readonly result: Promise<T>;
  /** Cancels the run: aborted once no caller waits for it any more. */
  readonly controller: AbortController;
  /** Callers waiting for it; a caller without a signal never stops waiting. */
  waiters: number;
  settled: boolean;
}

/**
 * One step's cache. Each step has its own, so a build and a push with the same inputs never share
 * a result (PrefectHQ/prefect#15258).
 */
export class StepCache<T> {
  readonly #name: string;
  readonly #runs = new Map<string, SharedRun<T>>();

  constructor(name: string) {
    this.#name = name;
    caches.add(this);
  }

  /**
   * Runs `work` unless a run with the same `key` succeeded or is under way, in which case that
   * run's result is shared. A failed run is forgotten, so the next call tries again, as Prefect
   * caches only what returned. `force` (the step's `ignore_cache`) always runs and caches anew.
   *
   * Each caller waits with its own `signal`: aborting it rejects that caller with the signal's
   * reason and no other. `work` gets the run's own signal, which aborts (with the last caller's
   * reason) only when every caller of the run has aborted, since then nobody wants its result;
   * the cancelled run is forgotten at once, so a later caller starts a new one, and the last
   * caller's rejection comes once the run has wound down (its cleanup done).
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
    let result: Promise<T>;
    try {
      result = work(controller.signal);
    } catch (error) {
      result = Promise.reject(error);
    }
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
    if (shared.settled || signal === undefined) {
      shared.waiters++;
      return shared.result;
    }
    shared.waiters++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        shared.waiters--;
        if (shared.waiters > 0 || shared.settled) {
          reject(signal.reason);
          return;
        }
        // Nobody waits for this run any more: stop it, and let the next caller start afresh. The
        // last caller's rejection waits for the run to wind down, so that what it cleans up
        // (a temporary Dockerfile, a registry tag) is gone when the caller hears of it.
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
          // After this caller's abort, its own reason (settled already, so this is a no-op).
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

/**
 * Forgets every cached step result (both steps), like resetting prefect-docker's
 * `STEP_OUTPUT_CACHE`: for tests, or for a long-running process that must rebuild.
 */
export function clearStepCache(): void {
  for (const cache of caches) cache.clear();
}

/**
 * The cache key of a step's inputs: prefect-docker's `(name, sorted kwargs)` with objects compared
 * by their JSON with sorted keys and arrays by their items, so the order keys were written in a
 * `prefect.yaml` does not matter but the order of `additional_tags` does.
 */
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
