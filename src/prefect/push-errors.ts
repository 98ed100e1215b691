/**
 * What a failed push means beyond the engine's text: the registry races that are worth another
 * attempt, and the notes that say which registry and login were involved.
 * @module
 */
import { PushError } from "../errors.js";

/**
 * The registry (distribution) loses a race between concurrent pushes of the same layers to one
 * repository: a manifest PUT meets "digest invalid" or "blob unknown" for a blob another push is
 * still committing. Pushing again succeeds, so these are transient here, unlike the same words
 * after a pull.
 */
const REGISTRY_RACE = /digest invalid|blob unknown/i;

/** Whether a push failed on the registry's race between concurrent pushes (see above). */
export function isRegistryRace(error: unknown): boolean {
  return error instanceof PushError && REGISTRY_RACE.test(error.message);
}

const AUTH_FAILURE = /no basic auth credentials|unauthorized|authentication required|denied/i;
const HTTPS_TO_HTTP = /server gave HTTP response to HTTPS client/i;

/**
 * Adds what the engine's text leaves out, after it: for a refused login, the registry and where
 * the login came from (or where it was looked for); for HTTPS spoken to a plain-HTTP registry,
 * that the engine, not the URL's scheme, decides.
 */
export function explainPushError(error: unknown, host: string, origin: string): unknown {
  if (!(error instanceof PushError)) return error;
  let note: string | undefined;
  if (AUTH_FAILURE.test(error.message)) {
    note = `registry ${host}; login: ${origin}. Log in with \`docker login ${host}\` or pass options.auth`;
  } else if (HTTPS_TO_HTTP.test(error.message)) {
    note = `the engine speaks HTTPS to ${host} whatever registryUrl's scheme says; to push over plain HTTP, list "${host}" in insecure-registries of the engine's daemon.json`;
  }
  if (!note) return error;
  return new PushError(`${error.message} (${note})`, {
    statusCode: error.statusCode,
    logTail: error.logTail,
    cause: error,
  });
}
