/**
 * What a failed push means beyond the engine's text: the notes that say which registry and login
 * were involved. (Which failures are retried, the registry's push race included, is decided in
 * `streams/retry.ts`.)
 * @module
 */
import { insecureRegistryAdvice } from "../engine/registry-security.js";
import { PushError } from "../errors.js";

const AUTH_FAILURE = /no basic auth credentials|unauthorized|authentication required|denied/i;
const HTTPS_TO_HTTP = /server gave HTTP response to HTTPS client/i;

/**
 * Adds what the engine's text leaves out, after it: for a refused login, the registry and where
 * the login came from (or where it was looked for); for HTTPS spoken to a plain-HTTP registry,
 * that the engine, not the URL's scheme, decides, and where that engine (`podman` or Docker) is
 * told otherwise.
 */
export function explainPushError(
  error: unknown,
  host: string,
  origin: string,
  podman = false,
): unknown {
  if (!(error instanceof PushError)) return error;
  let note: string | undefined;
  if (AUTH_FAILURE.test(error.message)) {
    note = `registry ${host}; login: ${origin}. Log in with \`docker login ${host}\` or pass options.auth`;
  } else if (HTTPS_TO_HTTP.test(error.message)) {
    note = `the engine speaks HTTPS to ${host} whatever registryUrl's scheme says; to push over plain HTTP, ${insecureRegistryAdvice(host, podman)}`;
  }
  if (!note) return error;
  return new PushError(`${error.message} (${note})`, {
    statusCode: error.statusCode,
    logTail: error.logTail,
    cause: error,
  });
}
