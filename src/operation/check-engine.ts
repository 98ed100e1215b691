import { MAX_TIMEOUT_MS } from "../defaults.js";
import type { EngineEndpoint } from "../docker-config/endpoint.js";
import { openEngine } from "../engine/engine-connection.js";
import { InvalidArgumentError } from "../errors.js";
import { integerOption, optionsObject } from "../validate.js";
import { type EngineOperationOptions, normalizeEngineOptions } from "./operation-options.js";

/** Options of {@link checkEngine}. */
export interface CheckEngineOptions
  extends Pick<EngineOperationOptions, "docker" | "env" | "signal"> {
  /**
   * How long to wait for the engine's answer, connecting included, before giving up: a whole
   * number of milliseconds from 1 to 2147483647.
   * @default 2000 (10000 for `ssh://` endpoints, whose handshake takes longer)
   */
  readonly timeoutMs?: number;
}

/**
 * Pings the engine once (`GET /_ping`) and resolves to the endpoint that answered. Call it before
 * long operations: an engine that is down, a wrong address, a TLS mismatch or an endpoint that
 * never answers fail here, quickly, instead of in the middle of a build.
 *
 * @throws InvalidArgumentError for options that cannot work, before any I/O (a client passed on
 *   its own, as in `checkEngine(docker)`, included: write `checkEngine({ docker })`);
 *   EngineUnreachableError naming the endpoint, how it was chosen, and the cause.
 * @example
 * ```ts
 * const endpoint = await checkEngine({ timeoutMs: 1000 });
 * console.log(`building on ${endpoint.url} (from ${endpoint.source})`);
 * ```
 */
export async function checkEngine(options?: CheckEngineOptions): Promise<EngineEndpoint> {
  // The old form, `checkEngine(docker, { timeoutMs })`, would be misread silently: refused.
  // biome-ignore lint/complexity/noArguments: the only way to see an argument the type omits
  if (arguments.length > 1 || isClient(options)) {
    throw new InvalidArgumentError(
      "checkEngine takes one options object: write checkEngine({ docker, timeoutMs: 1000 }) " +
        "instead of checkEngine(docker, { timeoutMs: 1000 }), and checkEngine({ timeoutMs: 1000 }) " +
        "instead of checkEngine(undefined, { timeoutMs: 1000 })",
    );
  }
  const given = optionsObject("checkEngine's options", options);
  const { signal, env, docker } = normalizeEngineOptions(given);
  const timeoutMs =
    given.timeoutMs === undefined
      ? undefined
      : integerOption("timeoutMs", given.timeoutMs, 0, { min: 1, max: MAX_TIMEOUT_MS });
  return openEngine({ docker, env }).ping({ signal, timeoutMs });
}

/** A dockerode client (it has a `modem`), not an options object. */
function isClient(value: unknown): boolean {
  return typeof value === "object" && value !== null && "modem" in value;
}
