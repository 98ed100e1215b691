/**
 * prefect-docker's `@cacheable`: within one process, a step run again with the same inputs returns
 * the first run's result instead of building or pushing again, so `prefect deploy --all` with N
 * deployments sharing one image builds and pushes it once (PrefectHQ/prefect#12928).
 * @module
 */
import { createDebug } from "../debug-logger.js";

const debug = createDebug("prefect-dockerutils:steps");

const caches = new Set<{ clear(): void }>();

/**
 * One step's cache. Each step has its own, so a build and a push with the same inputs never share
 * a result (PrefectHQ/prefect#15258).
 */
export class StepCache<T> {
  readonly #name: string;
  readonly #results = new Map<string, Promise<T>>();

  constructor(name: string) {
    this.#name = name;
    caches.add(this);
  }

  /**
   * Runs `work` unless a run with the same `key` succeeded or is under way, in which case that
   * run's result is shared. A failed run is forgotten, so the next call tries again, as Prefect
   * caches only what returned. `force` (the step's `ignore_cache`) always runs and caches anew.
   */
  run(key: string, force: boolean, work: () => Promise<T>): Promise<T> {
    const cached = force ? undefined : this.#results.get(key);
    if (cached) {
      debug("Cache hit for %s, returning cached value.", this.#name);
      return cached;
    }
    debug(
      force ? "Ignoring the cache for %s." : "Cache miss for %s, running function.",
      this.#name,
    );
    const running = work();
    this.#results.set(key, running);
    running.catch(() => {
      if (this.#results.get(key) === running) this.#results.delete(key);
    });
    return running;
  }

  /** Forgets every result. */
  clear(): void {
    this.#results.clear();
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
