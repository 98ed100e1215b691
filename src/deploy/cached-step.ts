/**
 * What both deployment steps' entry points share: checking inputs and options, and the step cache.
 * @module
 */
import { openEngine } from "../engine/engine-connection.js";
import { booleanOption, optionsObject } from "../validate.js";
import { defaultDockerBuildNamespace } from "./deploy-image-name.js";
import { type StepCache, stepCacheKey } from "./step-cache.js";
import { type BuildStepOptions, normalizeStepOptions, type StepSettings } from "./step-options.js";

/** Prefect's step runner removes these (`RESERVED_KEYWORDS` in `prefect/deployments/steps`). */
const STEP_RUNNER_KEYS = new Set(["id", "requires"]);

/**
 * The engine, for the cache key: the same inputs on another engine must run there too. `null` when
 * it cannot be resolved, which the step itself then reports.
 */
function engineKey(settings: StepSettings) {
  try {
    return openEngine(settings).endpoint.url;
  } catch {
    return null;
  }
}

/**
 * Runs `run` with the inputs (less `ignore_cache`, `id` and `requires`) and the checked options
 * unless an identical call ran on the same engine already; `keyOf` adds what else the result
 * depends on to the key. See {@link StepCache.run} for cancellation.
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
