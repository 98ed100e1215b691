import type { EngineEndpoint } from "../docker-config/endpoint.js";
import { EngineHttpError, EngineUnreachableError } from "../errors.js";

/** Connection failures that mean nothing answers at the endpoint, as opposed to a dropped one. */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOENT",
  "EACCES",
  "EPERM",
  "ENOTSOCK",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$)/;

/** Wraps a connection failure in an {@link EngineUnreachableError}; other errors pass unchanged. */
export function explainConnectionError(error: unknown, endpoint: EngineEndpoint): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof EngineUnreachableError || !code || !UNREACHABLE_CODES.has(code)) {
    return error;
  }
  return new EngineUnreachableError(
    `Cannot reach the Docker engine at ${endpoint.url} (from ${endpoint.source}): ${(error as Error).message}. This error is often thrown because Docker is not running. Please ensure Docker is running.`,
    endpoint.url,
    { cause: error },
  );
}

/** Why a ping failed, as an {@link EngineUnreachableError} naming the endpoint and the cause. */
export function unreachableError(error: unknown, endpoint: EngineEndpoint): EngineUnreachableError {
  const explained = explainConnectionError(error, endpoint);
  if (explained instanceof EngineUnreachableError) return explained;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  let cause: string;
  if (error instanceof EngineHttpError) {
    cause = `it answered HTTP ${error.statusCode}: ${error.message}`;
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
