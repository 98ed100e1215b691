/**
 * What a failed push means beyond the engine's text, for every push entry point: a refused login,
 * its status, and which registry and login were involved.
 * @module
 */
import { insecureRegistryAdvice } from "../auth/registry-security.js";
import { PushError } from "../errors.js";

const AUTH_FAILURE = /no basic auth credentials|unauthorized|authentication required|denied/i;
const DENIED = /\bdenied\b/i;
const HTTPS_TO_HTTP = /server gave HTTP response to HTTPS client/i;

/** The login a push used, for its error message. */
export interface PushLogin {
  /** The registry host, e.g. `ghcr.io` or `127.0.0.1:5556`. */
  readonly host: string;
  /** Where the login came from (`auths["ghcr.io"] in ~/.docker/config.json`), or was looked for. */
  readonly origin: string;
  /** How the caller of this entry point passes a login in code, e.g. `pass options.auth`. */
  readonly fix: string;
  /** Whether the engine is Podman, whose insecure registries are set elsewhere. @default false */
  readonly podman?: boolean | undefined;
}

/**
 * The error a push rejects with: a refused login gets the registry, the login's origin and the
 * fix, with `authFailure` and the status; HTTPS to a plain-HTTP registry gets how to tell the
 * engine otherwise. Anything else is returned as it is.
 */
export function explainPushError(error: unknown, login: PushLogin): unknown {
  if (!(error instanceof PushError)) return error;
  const { host, origin, fix, podman = false } = login;
  if (AUTH_FAILURE.test(error.message)) {
    return new PushError(
      `${error.message} (registry ${host}; login: ${origin}. Log in with \`docker login ${host}\` or ${fix})`,
      {
        // The engine relays the registry's status as text only: distribution's UNAUTHORIZED
        // (and "no basic auth credentials") is 401, DENIED 403.
        statusCode: error.statusCode ?? (DENIED.test(error.message) ? 403 : 401),
        logTail: error.logTail,
        authFailure: true,
        cause: error,
      },
    );
  }
  if (HTTPS_TO_HTTP.test(error.message)) {
    return new PushError(
      `${error.message} (the engine speaks HTTPS to ${host} whatever registryUrl's scheme says; to push over plain HTTP, ${insecureRegistryAdvice(host, podman)})`,
      { statusCode: error.statusCode, logTail: error.logTail, cause: error },
    );
  }
  return error;
}

/**
 * A failed request of a push as a {@link PushError} with the engine's text, its status and the
 * error as `cause`; a `PushError` is returned as it is.
 */
export function asPushError(error: unknown, logTail?: readonly string[]): PushError {
  if (error instanceof PushError) return error;
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return new PushError(error instanceof Error ? error.message : String(error), {
    statusCode: typeof status === "number" ? status : undefined,
    logTail,
    cause: error,
  });
}
