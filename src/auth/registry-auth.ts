/**
 * A registry login as the engine takes it, and the `auth` option that carries logins in code.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";
import { registryKey } from "../reference/registry-key.js";

/**
 * A registry login as the engine accepts it (the engine's `AuthConfig`). Give `username` and
 * `password`, or an `identitytoken` (OAuth refresh token), or a `registrytoken` (bearer token).
 */
export interface RegistryAuth {
  /** The user name. */
  username?: string;
  /** The password (or an access token used as password, e.g. for GitHub or ECR). */
  password?: string;
  /** An identity token: the engine exchanges it for a registry token (Docker Desktop, ACR). */
  identitytoken?: string;
  /** A bearer token the engine sends to the registry as is. */
  registrytoken?: string;
  /**
   * The registry the login is for, e.g. `ghcr.io` or `https://index.docker.io/v1/`. Filled in
   * from the registry being used when absent.
   */
  serveraddress?: string;
  /** Deprecated by Docker; passed along when present. */
  email?: string;
}

/**
 * The `auth` option: one {@link RegistryAuth}, or a map of registry (host, `host:port` or URL) to
 * {@link RegistryAuth}.
 */
export type RegistryAuthOption = RegistryAuth | Readonly<Record<string, RegistryAuth>>;

/** The `auth` option told apart: one login, or logins by {@link registryKey}. */
export interface ExplicitAuths {
  readonly single: RegistryAuth | undefined;
  readonly byKey: ReadonlyMap<string, RegistryAuth>;
}

const AUTH_FIELDS = new Set<string>([
  "username",
  "password",
  "identitytoken",
  "registrytoken",
  "serveraddress",
  "email",
]);

/**
 * Tells a single login from a map of logins, and checks it without ever printing a value.
 *
 * @throws InvalidArgumentError naming the field that is wrong.
 */
export function explicitAuths(auth: RegistryAuthOption | undefined | null): ExplicitAuths {
  if (auth === undefined || auth === null) return { single: undefined, byKey: new Map() };
  if (typeof auth !== "object" || Array.isArray(auth)) {
    throw new InvalidArgumentError(
      `auth must be a login such as { username, password } or a map such as { "ghcr.io": { username, password } }, got ${Array.isArray(auth) ? "an array" : typeof auth}`,
    );
  }
  const entries = Object.entries(auth as Record<string, unknown>);
  const isMap = entries.some(([, value]) => typeof value === "object" && value !== null);
  if (!isMap) {
    if (entries.length === 0) return { single: undefined, byKey: new Map() };
    checkLogin("auth", entries, "a map of logins has objects as values");
    return { single: auth as RegistryAuth, byKey: new Map() };
  }
  const byKey = new Map<string, RegistryAuth>();
  for (const [registry, value] of entries) {
    const name = `auth[${JSON.stringify(registry)}]`;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new InvalidArgumentError(
        `${name} must be a login such as { username, password }; a map of logins cannot mix in fields of a single login`,
      );
    }
    checkLogin(name, Object.entries(value));
    byKey.set(registryKey(registry), value as RegistryAuth);
  }
  return { single: undefined, byKey };
}

/** The fields of one login: known names, string values. */
function checkLogin(name: string, fields: [string, unknown][], hint?: string): void {
  for (const [field, value] of fields) {
    if (!AUTH_FIELDS.has(field)) {
      throw new InvalidArgumentError(
        `${name} has the unknown field ${JSON.stringify(field)}; a login has ${[...AUTH_FIELDS].join(", ")}${hint ? `, and ${hint}` : ""}`,
      );
    }
    if (value !== undefined && typeof value !== "string") {
      throw new InvalidArgumentError(`${name}.${field} must be a string, got ${typeof value}`);
    }
  }
}

/**
 * Checks an `auth` option before any I/O, never printing a value.
 *
 * @throws InvalidArgumentError naming the field that is wrong.
 */
export function checkAuthOption(auth: unknown): void {
  explicitAuths(auth as RegistryAuthOption | undefined);
}

/**
 * The `auth` option of a build, which may pull from any registry: a single login becomes a map of
 * its `serveraddress` to it.
 *
 * @throws InvalidArgumentError for a bad `auth`, or a single login without `serveraddress`.
 */
export function buildAuthOption(
  auth: RegistryAuthOption | undefined,
): RegistryAuthOption | undefined {
  const { single } = explicitAuths(auth);
  if (!single) return auth;
  if (!single.serveraddress) {
    throw new InvalidArgumentError(
      'auth is a single login without serveraddress, but a build may pull from any registry; pass a map such as { "ghcr.io": { username, password } }, or set auth.serveraddress',
    );
  }
  return { [single.serveraddress]: single };
}

/** The engine's AuthConfig JSON: only the fields that carry something, in the CLI's order. */
export function engineAuth(auth: RegistryAuth, serveraddress: string): RegistryAuth {
  const out: RegistryAuth = {};
  if (auth.username) out.username = auth.username;
  if (auth.password) out.password = auth.password;
  if (auth.email) out.email = auth.email;
  out.serveraddress = auth.serveraddress || serveraddress;
  if (auth.identitytoken) out.identitytoken = auth.identitytoken;
  if (auth.registrytoken) out.registrytoken = auth.registrytoken;
  return out;
}

/** Whether a login carries anything to log in with. */
export function hasCredentials(auth: RegistryAuth): boolean {
  return Boolean(auth.username || auth.password || auth.identitytoken || auth.registrytoken);
}
