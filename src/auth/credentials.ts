/**
 * Registry credentials, found as the docker CLI and docker-py find them: explicit credentials
 * passed in code, then the registry's `credHelpers` entry, then `credsStore`, then `auths` in
 * `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`, or the legacy `~/.dockercfg`).
 * @module
 */
import { createDebug } from "../debug-logger.js";
import { DEFAULT_CREDENTIAL_HELPER_TIMEOUT_MS, MAX_TIMEOUT_MS } from "../defaults.js";
import { type DockerConfig, loadDockerConfig } from "../docker-config/docker-config.js";
import { InvalidArgumentError } from "../errors.js";
import { registryKey, registryKeyOf } from "../reference/registry-key.js";
import { integerOption, kindOf, optionsObject, signalOption } from "../validate.js";
import {
  credentialHelperGet,
  credentialHelperList,
  type HelperCredentials,
  program,
  TOKEN_USERNAME,
} from "./credential-helper.js";
import {
  buildAuthOption,
  engineAuth,
  explicitAuths,
  hasCredentials,
  type RegistryAuth,
  type RegistryAuthOption,
} from "./registry-auth.js";
import { encodeRegistryHeader } from "./registry-header.js";

export type { RegistryAuth } from "./registry-auth.js";

const debug = createDebug("prefect-dockerutils:credentials");

/** Options of the credential lookups. */
export interface CredentialOptions {
  /**
   * The environment to read `DOCKER_CONFIG`, `HOME` and (for credential helpers) `PATH` from.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Credentials that override the Docker config. A single {@link RegistryAuth} applies to the
   * registry being pushed to or pulled from (for a build's `X-Registry-Config` it needs
   * `serveraddress`); a map of registry (host, `host:port` or URL; Docker Hub as `docker.io` or
   * `https://index.docker.io/v1/`) to {@link RegistryAuth} overrides those registries only.
   * An empty object overrides nothing.
   * @default undefined (the Docker config alone)
   */
  auth?: RegistryAuthOption;
  /**
   * Cancels the lookup: a credential helper that is running is killed (with its process group)
   * and the lookup rejects with the signal's reason.
   */
  signal?: AbortSignal | undefined;
  /**
   * How long each credential helper (`docker-credential-*`) may take, in milliseconds, before it
   * is killed and the lookup fails with a {@link CredentialsError} naming it: a whole number from
   * 1 to 2147483647.
   * @default 30000
   */
  credentialHelperTimeoutMs?: number | undefined;
}

/**
 * One lookup's settings, checked once, and the helper answers it already has: within one
 * operation each helper is asked at most once per registry (never across operations: tokens
 * expire).
 */
interface Lookup {
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number;
  readonly answers: Map<string, Promise<HelperCredentials | undefined>>;
}

/** Checks the options of a lookup before anything is read or run. */
function lookupOf(options: CredentialOptions | undefined): Lookup {
  const given = optionsObject("the credential options", options);
  const env = given.env ?? process.env;
  if (env === null || typeof env !== "object") {
    throw new InvalidArgumentError(`env must be an object such as process.env, got ${kindOf(env)}`);
  }
  const signal = signalOption("signal", given.signal);
  const timeoutMs = integerOption(
    "credentialHelperTimeoutMs",
    given.credentialHelperTimeoutMs,
    DEFAULT_CREDENTIAL_HELPER_TIMEOUT_MS,
    { min: 1, max: MAX_TIMEOUT_MS },
  );
  signal?.throwIfAborted();
  return { env, signal, timeoutMs, answers: new Map() };
}

function helperGet(
  lookup: Lookup,
  helper: string,
  server: string,
  origin: string,
): Promise<HelperCredentials | undefined> {
  const key = `${helper}\0${server}`;
  let answer = lookup.answers.get(key);
  if (!answer) {
    answer = credentialHelperGet(helper, server, { ...lookup, origin });
    lookup.answers.set(key, answer);
  }
  return answer;
}

/** A helper's answer as a login: the user name `<token>` marks an identity token. */
function helperLogin(found: HelperCredentials): RegistryAuth {
  return found.username === TOKEN_USERNAME
    ? { identitytoken: found.secret }
    : { username: found.username, password: found.secret };
}

function configOrigin(config: DockerConfig, field: string): string {
  return `${field} in ${config.file ?? `${config.dir}/config.json`}`;
}

/** The entry for a registry key: the exact key first, then the first whose host matches. */
function entryFor<T>(entries: ReadonlyMap<string, T>, key: string): [string, T] | undefined {
  const exact = entries.get(key);
  if (exact) return [key, exact];
  for (const [registry, entry] of entries) {
    if (registryKey(registry) === key) return [registry, entry];
  }
  return undefined;
}

async function fromHelper(
  lookup: Lookup,
  config: DockerConfig,
  key: string,
  helper: string,
  origin: string,
): Promise<RegistryAuth | undefined> {
  // Helpers are asked with the key itself: for Docker Hub that is the full
  // `https://index.docker.io/v1/`, under which `docker login` stores it (docker-py does the same).
  const found = await helperGet(lookup, helper, key, origin);
  if (!found) return undefined;
  debug("credentials for %s from docker-credential-%s", key, helper);
  const auth = helperLogin(found);
  const email = entryFor(config.auths, key)?.[1].email;
  if (email) auth.email = email;
  return engineAuth(auth, key);
}

/** A login and where it came from (or where it was looked for), for messages. */
export interface RegistryAuthLookup {
  readonly auth: RegistryAuth | undefined;
  /** The registry key that was looked up, e.g. `ghcr.io` or `https://index.docker.io/v1/`. */
  readonly key: string;
  /**
   * Where the login came from (`auths["ghcr.io"] in /home/me/.docker/config.json`, `options.auth`,
   * `docker-credential-pass (credsStore in ...)`) or, without one, everything that was searched.
   */
  readonly origin: string;
}

async function fromConfig(
  lookup: Lookup,
  config: DockerConfig,
  key: string,
): Promise<RegistryAuthLookup> {
  const searched: string[] = [];
  const named = entryFor(config.credHelpers, key);
  const helper = named?.[1] ?? config.credsStore;
  if (helper) {
    const field = named ? `credHelpers[${JSON.stringify(named[0])}]` : "credsStore";
    const origin = configOrigin(config, field);
    const auth = await fromHelper(lookup, config, key, helper, origin);
    const where = `${program(helper)} (${origin})`;
    if (auth) return { auth, key, origin: where };
    // docker-py: nothing in the helper, so look in `auths`.
    searched.push(where);
  }
  const where = config.file ?? `${config.dir}/config.json (which does not exist)`;
  const entry = entryFor(config.auths, key);
  if (!entry || !hasCredentials(entry[1])) {
    searched.push(`auths in ${where}`);
    return { auth: undefined, key, origin: `no login for ${key} in ${searched.join(" or ")}` };
  }
  debug("credentials for %s from auths[%j]", key, entry[0]);
  return {
    auth: engineAuth(entry[1], entry[0]),
    key,
    origin: `auths[${JSON.stringify(entry[0])}] in ${where}`,
  };
}

/**
 * Like {@link resolveRegistryAuth}, and says where the login came from or, without one, where it
 * was looked for (for error messages such as the engine's "no basic auth credentials").
 */
export async function lookupRegistryAuth(
  imageOrRegistry: string,
  options: CredentialOptions = {},
): Promise<RegistryAuthLookup> {
  const lookup = lookupOf(options);
  const key = registryKeyOf(imageOrRegistry);
  const explicit = explicitAuths(options.auth);
  const given = explicit.single ?? explicit.byKey.get(key);
  if (given) {
    debug("explicit credentials for %s", key);
    const origin = explicit.single ? "options.auth" : `options.auth for ${key}`;
    return { auth: engineAuth(given, key), key, origin };
  }
  return fromConfig(lookup, loadDockerConfig(lookup.env), key);
}

/**
 * The credentials the engine should use for one registry, or `undefined` when there are none:
 * explicit ones from `options.auth`, else from the Docker config (`credHelpers`, `credsStore`,
 * `auths`). A credential helper gets `options.signal` and at most
 * `options.credentialHelperTimeoutMs` (30 s by default) to answer.
 *
 * @param imageOrRegistry - an image reference (`127.0.0.1:5556/team/app:1`, `busybox`), a registry
 *   URL (`https://ghcr.io`) or a registry host (`ghcr.io`, `localhost:5000`, `docker.io`).
 * @throws InvalidArgumentError for an invalid reference, option, `auth` or config file;
 *   {@link CredentialsError} when a credential helper is missing, fails or times out; the
 *   signal's reason when cancelled.
 */
export async function resolveRegistryAuth(
  imageOrRegistry: string,
  options: CredentialOptions = {},
): Promise<RegistryAuth | undefined> {
  return (await lookupRegistryAuth(imageOrRegistry, options)).auth;
}

/**
 * The value of the `X-Registry-Auth` header for pushing or pulling `imageOrRegistry`: URL-safe
 * base64 (with padding, as the engine's decoder requires) of the JSON login, or of `{}` when there
 * is none. See {@link resolveRegistryAuth} for where the login comes from.
 *
 * @example
 * ```ts
 * const headers = { "X-Registry-Auth": await registryAuthHeader("ghcr.io/team/app:1") };
 * ```
 */
export async function registryAuthHeader(
  imageOrRegistry: string,
  options: CredentialOptions = {},
): Promise<string> {
  return encodeRegistryHeader((await resolveRegistryAuth(imageOrRegistry, options)) ?? {});
}

/**
 * Every login the Docker config (and `options.auth`) knows, keyed as the engine looks them up
 * (`https://index.docker.io/v1/` for Docker Hub, the host otherwise). Like docker-py: `auths`,
 * then every server `credsStore`'s helper lists, then every `credHelpers` registry, then the
 * explicit logins, each overriding the ones before. Each helper is asked at most once per server.
 *
 * @throws as {@link resolveRegistryAuth} does.
 */
export async function resolveAllRegistryAuths(
  options: CredentialOptions = {},
): Promise<Map<string, RegistryAuth>> {
  const lookup = lookupOf(options);
  const explicit = explicitAuths(buildAuthOption(options.auth));
  const config = loadDockerConfig(lookup.env);
  const all = new Map<string, RegistryAuth>();
  // Entries under their exact key come last so they win over look-alikes (`https://host/v2/`).
  const authsInOrder = [...config.auths].sort(
    ([a], [b]) => Number(registryKey(a) === a) - Number(registryKey(b) === b),
  );
  for (const [registry, entry] of authsInOrder) {
    if (hasCredentials(entry)) all.set(registryKey(registry), engineAuth(entry, registry));
  }
  if (config.credsStore) {
    const origin = configOrigin(config, "credsStore");
    const servers = await credentialHelperList(config.credsStore, { ...lookup, origin });
    for (const server of servers.keys()) {
      const found = await helperGet(lookup, config.credsStore, server, origin);
      if (found) all.set(registryKey(server), engineAuth(helperLogin(found), server));
    }
  }
  for (const [registry, helper] of config.credHelpers) {
    const key = registryKey(registry);
    const origin = configOrigin(config, `credHelpers[${JSON.stringify(registry)}]`);
    const auth = await fromHelper(lookup, config, key, helper, origin);
    if (auth) all.set(key, auth);
  }
  for (const [key, auth] of explicit.byKey) all.set(key, engineAuth(auth, key));
  for (const [key, auth] of all) if (!hasCredentials(auth)) all.delete(key);
  debug("registry config for %s", [...all.keys()].join(", ") || "no registry");
  return all;
}

/**
 * The value of the build's `X-Registry-Config` header: URL-safe base64 (with padding) of the JSON
 * map of every configured registry to its login (see {@link resolveAllRegistryAuths}), so the
 * engine can pull private `FROM` images from any of them; `undefined` when there are none.
 *
 * @example
 * ```ts
 * const config = await registryConfigHeader({ signal });
 * const headers = config ? { "X-Registry-Config": config } : {};
 * ```
 */
export async function registryConfigHeader(
  options: CredentialOptions = {},
): Promise<string | undefined> {
  const all = await resolveAllRegistryAuths(options);
  if (all.size === 0) return undefined;
  return encodeRegistryHeader(Object.fromEntries(all));
}
