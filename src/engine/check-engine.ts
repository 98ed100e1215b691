/**
 * Pinging the engine before long operations, with errors that say what to fix.
 * @module
 */
import createDebug from "debug";
import type Docker from "dockerode";
import { EngineUnreachableError, InvalidArgumentError } from "../errors.js";
import {
  type DialingModem,
  describeClient,
  dockerClient,
  engineEndpointOf,
  explainConnectionError,
} from "./docker-client.js";
import type { EngineEndpoint } from "./endpoint.js";
import { engineMessage } from "./engine-request.js";

const debug = createDebug("prefect-dockerutils:engine");

/** Options of {@link checkEngine}. */
export interface CheckEngineOptions {
  /** Cancels the check; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * How long to wait for the engine's answer, connecting included, before giving up.
   * @default 2000 (10000 for `ssh://` endpoints, whose handshake takes longer)
   */
  readonly timeoutMs?: number;
}

/**
 * Pings the engine once (`GET /_ping`) and resolves to the endpoint that answered. Call it before
 * long operations: an engine that is down, a wrong address, a TLS mismatch or an endpoint that
 * never answers fail here, quickly, instead of in the middle of a build.
 *
 * @param docker - the client to check. @default dockerClient()
 * @throws EngineUnreachableError naming the endpoint, how it was chosen, and the cause.
 * @example
 * ```ts
 * const endpoint = await checkEngine();
 * console.log(`building on ${endpoint.url} (from ${endpoint.source})`);
 * ```
 */
export async function checkEngine(
  docker: Docker = dockerClient(),
  options: CheckEngineOptions = {},
): Promise<EngineEndpoint> {
  const { signal } = options;
  const endpoint = engineEndpointOf(docker) ?? describeClient(docker);
  const timeoutMs = options.timeoutMs ?? (endpoint.url.startsWith("ssh://") ? 10_000 : 2_000);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidArgumentError(
      `timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`,
    );
  }
  signal?.throwIfAborted();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const modem = docker.modem as unknown as DialingModem;
  try {
    await new Promise<void>((resolve, reject) => {
      modem.dial(
        {
          path: "/_ping",
          method: "GET",
          abortSignal: controller.signal,
          statusCodes: { 200: true },
        },
        (error) => (error ? reject(error) : resolve()),
      );
    });
    debug("engine %s (from %s) answered", endpoint.url, endpoint.source);
    return endpoint;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (controller.signal.aborted) {
      throw new EngineUnreachableError(
        `Cannot reach the Docker engine at ${endpoint.url} (from ${endpoint.source}): no answer within ${timeoutMs} ms`,
        endpoint.url,
        { cause: error },
      );
    }
    throw unreachable(error, endpoint);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$)/;

function unreachable(error: unknown, endpoint: EngineEndpoint): EngineUnreachableError {
  if (error instanceof EngineUnreachableError) return error;
  const explained = explainConnectionError(error, endpoint);
  if (explained instanceof EngineUnreachableError) return explained;
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  let cause: string;
  if (typeof status === "number") {
    cause = `it answered HTTP ${status}: ${engineMessage(error)}`;
    if (/HTTP request to an HTTPS server/i.test(cause)) {
      cause +=
        " (the engine wants TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, or use a context with TLS)";
    }
  } else {
    cause = error instanceof Error ? error.message : String(error);
    if (code && TLS_ERROR.test(code)) {
      cause += ` (TLS failed: check the certificates${endpoint.url.endsWith("(TLS)") ? "" : "; the engine may not speak TLS"})`;
    }
  }
  return new EngineUnreachableError(
    `Cannot reach the Docker engine at ${endpoint.url} (from ${endpoint.source}): ${cause}`,
    endpoint.url,
    { cause: error },
  );
}
