/**
 * What the entry points of both deployment steps share: checking the inputs and options, the
 * step cache's key (the inputs without `ignore_cache`, the default namespace, and what else the
 * step depends on) and a result whose `additional_tags` the caller may change freely.
 * @module
 */
import { booleanOption, optionsObject } from "../validate.js";
import { defaultDockerBuildNamespace } from "./deploy-image-name.js";
import { type StepCache, stepCacheKey } from "./step-cache.js";
import { normalizeStepOptions, type StepOptions } from "./step-options.js";

/** A step's options after {@link normalizeStepOptions}. */
export type StepSettings<O extends StepOptions> = ReturnType<typeof normalizeStepOptions<O>>;

/**
 * Runs a step through its cache: `run` with the inputs (less `ignore_cache`) and the checked
 * options, unless an identical call already ran in this process. `keyOf` adds what else the
 * result depends on to the cache key.
 */
export async function runCachedStep<
  I extends { readonly ignore_cache?: boolean | null | undefined },
  O extends StepOptions,
  R extends { readonly additional_tags: string[] },
>(
  cache: StepCache<R>,
  inputs: I,
  options: O | undefined,
  keyOf: (inputs: Omit<I, "ignore_cache">, settings: StepSettings<O>) => Record<string, unknown>,
  run: (inputs: Omit<I, "ignore_cache">, settings: StepSettings<O>) => Promise<R>,
): Promise<R> {
  const { ignore_cache, ...rest } = optionsObject("inputs", inputs);
  const force = booleanOption("ignore_cache", ignore_cache, false);
  const settings = normalizeStepOptions(options);
  const key = stepCacheKey({
    inputs: rest,
    namespace: defaultDockerBuildNamespace(settings.env) ?? null,
    ...keyOf(rest, settings),
  });
  const result = await cache.run(key, force, () => run(rest, settings));
  return { ...result, additional_tags: [...result.additional_tags] };
}
