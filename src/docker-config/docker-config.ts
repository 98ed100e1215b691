import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { crypto } from "../lazy-builtins.js";
import { DOCKER_HUB_KEY } from "../reference/registry-key.js";

/** One `auths` entry of a Docker config file, with `auth` decoded into user name and password. */
export interface ConfigAuthEntry {
  readonly username?: string;
  readonly password?: string;
  /** An identity (OAuth refresh) token. */
  readonly identitytoken?: string;
  readonly registrytoken?: string;
  readonly email?: string;
}

/** What the docker CLI reads from its configuration file. */
export interface DockerConfig {
  /** `DOCKER_CONFIG`, else `~/.docker`. */
  readonly dir: string;
  /** The file that was read, if any. */
  readonly file: string | undefined;
  /** Keyed as in the file, in the file's order. */
  readonly auths: ReadonlyMap<string, ConfigAuthEntry>;
  /** The helper for every registry without a `credHelpers` entry. */
  readonly credsStore: string | undefined;
  /** Registry to helper name (the part after `docker-credential-`). */
  readonly credHelpers: ReadonlyMap<string, string>;
  readonly currentContext: string | undefined;
}

/** The home folder as the docker CLI finds it: `HOME`, else the account's. */
export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME || homedir();
}

/** The docker CLI's configuration folder: `DOCKER_CONFIG`, else `~/.docker`. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(homeDir(env), ".docker");
}

/**
 * Reads the docker CLI's configuration like the CLI: `<dir>/config.json`, and only when that file
 * does not exist the legacy `~/.dockercfg` (JSON, or the two-line `auth = ...` / `email = ...`
 * format). Missing files give an empty configuration.
 *
 * @throws InvalidArgumentError when a file exists but cannot be read or parsed. The message names
 *   the file and the place, never its contents, which hold credentials.
 */
export function loadDockerConfig(env: NodeJS.ProcessEnv = process.env): DockerConfig {
  const dir = dockerConfigDir(env);
  const file = path.join(dir, "config.json");
  const text = readIfExists(file)?.toString("utf8");
  if (text !== undefined) {
    const json = parseJson(text, file);
    if (!isObject(json)) throw badConfig(file, "the file is not a JSON object");
    return {
      dir,
      file,
      auths: readAuths(json.auths, file, "auths"),
      credsStore: optionalString(json.credsStore, file, "credsStore"),
      credHelpers: readCredHelpers(json.credHelpers, file),
      currentContext: optionalString(json.currentContext, file, "currentContext"),
    };
  }
  const legacy = path.join(homeDir(env), ".dockercfg");
  const legacyText = readIfExists(legacy)?.toString("utf8");
  const empty = { dir, credsStore: undefined, credHelpers: new Map(), currentContext: undefined };
  if (legacyText === undefined) return { ...empty, file: undefined, auths: new Map() };
  return { ...empty, file: legacy, auths: readLegacyAuths(legacyText, legacy) };
}

/** The file's bytes, `undefined` when it does not exist. */
function readIfExists(file: string, what = `the Docker config file ${file}`): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new InvalidArgumentError(`Cannot read ${what} (${code ?? "error"})`, { cause: error });
  }
}

function badConfig(file: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `Invalid Docker config file ${file}: ${problem}. Fix or remove it (docker-py and the docker CLI read the same file; DOCKER_CONFIG selects another folder).`,
  );
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the error, which holds credentials: only the position.
    const position = /at position (\d+)/.exec((error as Error).message)?.[1];
    let where = "";
    if (position !== undefined) {
      const before = text.slice(0, Number(position));
      const line = before.split("\n").length;
      const column = Number(position) - before.lastIndexOf("\n");
      where = ` at line ${line} column ${column}`;
    }
    throw badConfig(file, `it is not valid JSON${where}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, file: string, field: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw badConfig(file, `${field} must be a string`);
  return value;
}

function readCredHelpers(value: unknown, file: string): Map<string, string> {
  const helpers = new Map<string, string>();
  if (value === undefined || value === null) return helpers;
  if (!isObject(value))
    throw badConfig(file, "credHelpers must be an object of registry to helper name");
  for (const [registry, helper] of Object.entries(value)) {
    if (typeof helper !== "string" || !helper) {
      throw badConfig(file, `credHelpers[${JSON.stringify(registry)}] must be a helper name`);
    }
    helpers.set(registry, helper);
  }
  return helpers;
}

function readAuths(value: unknown, file: string, field: string): Map<string, ConfigAuthEntry> {
  const auths = new Map<string, ConfigAuthEntry>();
  if (value === undefined || value === null) return auths;
  if (!isObject(value)) throw badConfig(file, `${field} must be an object of registry to login`);
  for (const [registry, entry] of Object.entries(value)) {
    auths.set(registry, readAuthEntry(entry, file, `${field}[${JSON.stringify(registry)}]`));
  }
  return auths;
}

const ENTRY_STRINGS = ["username", "password", "identitytoken", "registrytoken", "email"] as const;

function readAuthEntry(entry: unknown, file: string, where: string): ConfigAuthEntry {
  if (!isObject(entry)) throw badConfig(file, `${where} must be an object`);
  const result: { -readonly [K in keyof ConfigAuthEntry]: string } = {};
  for (const field of ENTRY_STRINGS) {
    const value = optionalString(entry[field], file, `${where}.${field}`);
    if (value !== undefined) result[field] = value;
  }
  const auth = optionalString(entry.auth, file, `${where}.auth`);
  if (auth !== undefined) {
    // The CLI: a decoded `auth` replaces `username` and `password`.
    const [username, password] = decodeAuth(auth, file, where);
    result.username = username;
    result.password = password;
  }
  return result;
}

/**
 * `auth` is base64 of `username:password` (the CLI writes standard base64; URL-safe and unpadded
 * forms are read too). Like the CLI, NUL padding is trimmed from the password.
 */
function decodeAuth(auth: string, file: string, where: string): [string, string] {
  const clean = auth.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) {
    throw badConfig(file, `${where}.auth is not base64 of "username:password"`);
  }
  const decoded = Buffer.from(clean, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) throw badConfig(file, `${where}.auth is not base64 of "username:password"`);
  return [decoded.slice(0, colon), decoded.slice(colon + 1).replace(/^\0+|\0+$/g, "")];
}

/** The legacy `~/.dockercfg`: a JSON object of registry to login, or two `key = value` lines. */
function readLegacyAuths(text: string, file: string): Map<string, ConfigAuthEntry> {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) return readAuths(parseJson(trimmed, file), file, "the file");
  const fields = new Map<string, string>();
  for (const line of trimmed.split(/\r?\n/)) {
    const equals = line.indexOf("=");
    if (equals === -1) continue;
    fields.set(line.slice(0, equals).trim(), line.slice(equals + 1).trim());
  }
  const auth = fields.get("auth");
  if (!auth) throw badConfig(file, 'it has neither JSON nor an "auth = ..." line');
  const entry = readAuthEntry({ auth, email: fields.get("email") }, file, "the legacy login");
  return new Map([[DOCKER_HUB_KEY, entry]]);
}

/** A Docker context's engine endpoint, as `docker context create --docker ...` stores it. */
export interface ContextEndpoint {
  readonly name: string;
  /** `Endpoints.docker.Host`, e.g. `tcp://127.0.0.1:2376` or `ssh://me@host`. */
  readonly host: string;
  /** `Endpoints.docker.SkipTLSVerify`: TLS without verifying the engine's certificate. */
  readonly skipTlsVerify: boolean;
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
}

/**
 * Reads a context from the store in `<config dir>/contexts`: `meta/<sha256 of name>/meta.json`
 * and `tls/<sha256 of name>/docker/{ca,cert,key}.pem`.
 *
 * @throws InvalidArgumentError when the context does not exist or has no Docker endpoint; the
 *   message says where it looked and where the name came from (`origin`).
 */
export function readContext(configDir: string, name: string, origin: string): ContextEndpoint {
  const id = crypto().createHash("sha256").update(name).digest("hex");
  const metaFile = path.join(configDir, "contexts", "meta", id, "meta.json");
  const text = readIfExists(metaFile)?.toString("utf8");
  if (text === undefined) {
    throw new InvalidArgumentError(
      `Docker context ${JSON.stringify(name)} (from ${origin}) does not exist: there is no ${metaFile}. List the contexts with \`docker context ls\`, or unset ${origin.startsWith("DOCKER_CONTEXT") ? "DOCKER_CONTEXT" : "currentContext"}.`,
    );
  }
  const meta = parseJson(text, metaFile);
  const endpoints = isObject(meta) && isObject(meta.Endpoints) ? meta.Endpoints : undefined;
  const docker = endpoints && isObject(endpoints.docker) ? endpoints.docker : undefined;
  if (!docker || typeof docker.Host !== "string" || !docker.Host) {
    throw new InvalidArgumentError(
      `Docker context ${JSON.stringify(name)} (from ${origin}) has no Docker endpoint in ${metaFile}; recreate it with \`docker context create ${name} --docker host=...\``,
    );
  }
  const tlsDir = path.join(configDir, "contexts", "tls", id, "docker");
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const part of ["ca", "cert", "key"] as const) {
    const file = path.join(tlsDir, `${part}.pem`);
    const pem = readIfExists(file, `${file} of Docker context ${JSON.stringify(name)}`);
    if (pem) tls[part] = pem;
  }
  return { name, host: docker.Host, skipTlsVerify: docker.SkipTLSVerify === true, tls };
}
