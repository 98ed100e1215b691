/**
 * What the entry points of both deployment steps share: checking the inputs and options, the
 * step cache's key (the inputs without `ignore_cache`, the default namespace, the engine, and
 * what else the step depends on) and a result whose `additional_tags` the caller may change
 * freely.
 * @module
 */
import { openEngine } from "../engine/engine-connection.js";
import { booleanOption, optionsObject } from "../validate.js";
import { defaultDockerBuildNamespace } from "./deploy-image-name.js";
import { type StepCache, stepCacheKey } from "./step-cache.js";
import { type BuildStepOptions, normalizeStepOptions, type StepSettings } from "./step-options.js";

/**
 * Keys of a `prefect.yaml` step mapping that belong to Prefect's step runner, which removes them
 * before it calls the step (`RESERVED_KEYWORDS` in `prefect.deployments.steps.core`): a step's
 * mapping is passed in as written, so they are accepted and ignored, and not part of the cache key.
 */
const STEP_RUNNER_KEYS = new Set(["id", "requires"]);

/**
 * The engine a step talks to, for its cache key: the same inputs on another engine
 * (`DOCKER_HOST`, a Docker context, a `docker` client) must build or push there too. `null` when
 * the engine cannot be resolved, which the step itself then reports.
 */
function engineKey(settings: StepSettings) {
  try {
    return openEngine(settings).endpoint.url;
  } catch {
    return null;
  }
}

/**
 * Runs a step through its cache: `run` with the inputs (less `ignore_cache`, `id` and
 * `requires`) and the checked options, unless an identical call already ran in this process on
 * the same engine. `keyOf` adds what else the result depends on to the cache key. A caller's
 * `signal` ends that caller's wait; `run` gets the shared run's signal, which aborts only when no
 * caller waits any more (see {@link StepCache.run}).
 */
export async function runCachedStep<
  I extends { readonly ignore_cache?: boolean | null | undefined },
  R extends { readonly additional_tags: string[] },
>(
  cache: StepCache<R>,
  inputs: I,
  options: BuildStepOptions | undefined,
  keyOf: (inputs: Omit<I, "ignore_cache">, settings: StepSettings) => Record<string, unknown>,
  run: (inputs: Omit<I, "ignore_cache">, settings: StepSettings) => Promise<R>,
): Promise<R> {
  const { ignore_cache, ...given } = optionsObject("inputs", inputs);
  const rest = Object.fromEntries(
    Object.entries(given).filter(([name]) => !STEP_RUNNER_KEYS.has(name)),
  ) as Omit<I, "ignore_cache">;
  const force = booleanOption("ignore_cache", ignore_cache, false);
  const settings = normalizeStepOptions(options);
  const key = stepCacheKey({
    inputs: rest,
    namespace: defaultDockerBuildNamespace(settings.env) ?? null,
    engine: engineKey(settings),
    ...keyOf(rest, settings),
  });
  const result = await cache.run(
    key,
    force,
    (signal) => run(rest, { ...settings, signal }),
    settings.signal,
  );
  return { ...result, additional_tags: [...result.additional_tags] };
}
