/**
 * What a failed push means beyond the engine's text, for every push entry point (`pushImage`,
 * `DockerImage.push()`, the `push_docker_image` step): whether the registry refused the login, its
 * status, and the notes that say which registry and login were involved. (Which failures are
 * retried, the registry's push race included, is decided in `operation/retry.ts`.)
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
  /**
   * Where the login came from (`auths["ghcr.io"] in /home/me/.docker/config.json`) or, without
   * one, where it was looked for.
   */
  readonly origin: string;
  /** How the caller of this entry point passes a login in code, e.g. `pass options.auth`. */
  readonly fix: string;
  /** Whether the engine is Podman, whose insecure registries are set elsewhere. @default false */
  readonly podman?: boolean | undefined;
}

/**
 * The registry's HTTP status for the errors it refuses a login with, which the engine relays as
 * text only: distribution's UNAUTHORIZED (and the engine's own "no basic auth credentials" after
 * the registry's 401 challenge) is 401, DENIED 403.
 */
function registryStatus(message: string): number {
  return DENIED.test(message) ? 403 : 401;
}

/**
 * The error a push rejects with: for a refused login, the engine's text followed by the registry,
 * where the login came from (or where it was looked for) and how to fix it, with `authFailure`
 * and the registry's status; for HTTPS spoken to a plain-HTTP registry, that the engine, not the
 * URL's scheme, decides, and where that engine (`podman` or Docker) is told otherwise. Anything else
 * is returned as it is.
 */
export function explainPushError(error: unknown, login: PushLogin): unknown {
  if (!(error instanceof PushError)) return error;
  const { host, origin, fix, podman = false } = login;
  if (AUTH_FAILURE.test(error.message)) {
    return new PushError(
      `${error.message} (registry ${host}; login: ${origin}. Log in with \`docker login ${host}\` or ${fix})`,
      {
        statusCode: error.statusCode ?? registryStatus(error.message),
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
 * A failed request of a push as a {@link PushError}: the engine's own text (an `EngineHttpError`
 * carries its `message`), its HTTP status when it has one, the error as `cause`. A `PushError`
 * is returned as it is.
 *
 * @param logTail - the last lines of the push's output, when it had started.
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
