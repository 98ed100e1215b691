/**
 * Pinging the engine before long operations, with errors that say what to fix.
 * @module
 */

import { MAX_TIMEOUT_MS } from "../defaults.js";
import type { EngineEndpoint } from "../docker-config/endpoint.js";
import { integerOption, optionsObject, signalOption } from "../validate.js";
import type { DockerodeClient } from "./client-endpoint.js";
import { openEngine } from "./engine-connection.js";

/** Options of {@link checkEngine}. */
export interface CheckEngineOptions {
  /** Cancels the check; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
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
 * @param docker - the client whose engine to check. @default the engine the environment names,
 *   as `resolveEngine()` finds it
 * @throws InvalidArgumentError for options that cannot work, before any I/O;
 *   EngineUnreachableError naming the endpoint, how it was chosen, and the cause.
 * @example
 * ```ts
 * const endpoint = await checkEngine();
 * console.log(`building on ${endpoint.url} (from ${endpoint.source})`);
 * ```
 */
export async function checkEngine(
  docker?: DockerodeClient,
  options?: CheckEngineOptions,
): Promise<EngineEndpoint> {
  const given = optionsObject("checkEngine's options", options);
  const signal = signalOption("signal", given.signal);
  const timeoutMs =
    given.timeoutMs === undefined
      ? undefined
      : integerOption("timeoutMs", given.timeoutMs, 0, { min: 1, max: MAX_TIMEOUT_MS });
  const engine = openEngine(docker === undefined ? {} : { docker });
  return engine.ping({ signal, timeoutMs });
}
