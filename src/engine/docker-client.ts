/**
 * The public dockerode client, configured from the environment like the docker CLI.
 * @module
 */
import type { Readable } from "node:stream";
import createDebug from "debug";
import Docker from "dockerode";
import { EngineUnreachableError } from "../errors.js";
import { encodeRegistryHeader } from "./credentials.js";
import { type DockerClientOptions, type EngineEndpoint, resolveEngine } from "./endpoint.js";

const debug = createDebug("prefect-dockerutils:engine");

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

const endpoints = new WeakMap<Docker, EngineEndpoint>();

/** The endpoint a client made by {@link dockerClient} talks to, if it was made there. */
export function engineEndpointOf(docker: Docker): EngineEndpoint | undefined {
  return endpoints.get(docker);
}

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

/**
 * A dockerode client configured from the environment like the docker CLI (see
 * {@link resolveEngine}). Every request made through it that cannot reach the engine fails with an
 * {@link EngineUnreachableError} naming the endpoint that was tried and how it was chosen.
 *
 * Registry credentials given to dockerode (`authconfig`, `registryconfig`) are sent URL-safe
 * base64 encoded, as the engine expects (docker-modem sends `registryconfig` in standard base64,
 * which the engine drops), and are kept out of docker-modem's `DEBUG=modem` log.
 *
 * @example
 * ```ts
 * const docker = dockerClient();
 * const endpoint = await checkEngine(docker);
 * const images = await docker.listImages();
 * ```
 */
export function dockerClient(options: DockerClientOptions = {}): Docker {
  const endpoint = resolveEngine(options);
  debug("engine %s (from %s)", endpoint.url, endpoint.source);
  const docker = new Docker(endpoint.modemOptions);
  const modem = docker.modem as DialingModem;
  const dial = modem.dial.bind(modem);
  modem.dial = (dialOptions, callback) =>
    dial(protectCredentials(dialOptions, modem), (error, result) =>
      callback(error ? explainConnectionError(error, endpoint) : error, result),
    );
  endpoints.set(docker, endpoint);
  return docker;
}

/** The part of docker-modem's API this library calls; @types/dockerode does not describe it. */
export interface DialingModem {
  dial(options: DialOptions, callback: (error: unknown, result: unknown) => void): void;
  headers?: Record<string, string>;
  socketPath?: unknown;
  host?: string;
  port?: string | number;
  protocol?: string;
}

interface DialOptions {
  path: string;
  method: "GET" | "POST" | "DELETE";
  options?: Record<string, unknown>;
  file?: Readable;
  headers?: Record<string, string>;
  isStream?: boolean;
  abortSignal?: AbortSignal;
  statusCodes: Record<number, true | string>;
  authconfig?: { key?: string; base64?: string } & Record<string, unknown>;
  registryconfig?: { base64?: string } & Record<string, unknown>;
}

/** Headers that carry credentials. */
const SECRET_HEADER = /^(x-registry-auth|x-registry-config|authorization)$/i;

/**
 * Headers whose credential entries Node's HTTP client sends but `util.inspect` does not show:
 * docker-modem logs each request's options with `util.inspect` under `DEBUG=modem`, and
 * `util.inspect` shows a proxy's target, which holds only the harmless headers.
 */
export function hideCredentialHeaders(
  headers: Readonly<Record<string, string>>,
): Record<string, string> {
  const visible: Record<string, string> = {};
  const hidden = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (SECRET_HEADER.test(name)) hidden.set(name, value);
    else visible[name] = value;
  }
  if (hidden.size === 0) return visible;
  return new Proxy(visible, {
    get: (target, key, receiver) =>
      typeof key === "string" && hidden.has(key)
        ? hidden.get(key)
        : Reflect.get(target, key, receiver),
    has: (target, key) => (typeof key === "string" && hidden.has(key)) || Reflect.has(target, key),
    ownKeys: (target) => [...Reflect.ownKeys(target), ...hidden.keys()],
    getOwnPropertyDescriptor: (target, key) =>
      typeof key === "string" && hidden.has(key)
        ? { value: hidden.get(key), writable: true, enumerable: true, configurable: true }
        : Reflect.getOwnPropertyDescriptor(target, key),
    set: (target, key, value, receiver) => {
      if (typeof key === "string" && hidden.has(key)) {
        hidden.set(key, String(value));
        return true;
      }
      return Reflect.set(target, key, value, receiver);
    },
    deleteProperty: (target, key) =>
      typeof key === "string" && hidden.has(key)
        ? hidden.delete(key)
        : Reflect.deleteProperty(target, key),
  });
}

/**
 * Turns dockerode's `authconfig` / `registryconfig` into URL-safe base64 headers and hides every
 * credential header from docker-modem's debug log.
 */
function protectCredentials(options: DialOptions, modem: DialingModem): DialOptions {
  const { authconfig, registryconfig, ...rest } = options;
  const extra: Record<string, string> = {};
  if (authconfig)
    extra["X-Registry-Auth"] =
      authconfig.key || authconfig.base64 || encodeRegistryHeader(authconfig);
  if (registryconfig)
    extra["X-Registry-Config"] = registryconfig.base64 || encodeRegistryHeader(registryconfig);
  const given = options.headers;
  const hasSecret =
    Object.keys(extra).length > 0 ||
    Object.keys(given ?? {}).some((name) => SECRET_HEADER.test(name));
  if (!hasSecret) return options;
  // docker-modem's own rule: the client's default headers only apply when a request has none.
  const base = given ?? { ...(modem.headers ?? {}) };
  return { ...rest, headers: hideCredentialHeaders({ ...base, ...extra }) };
}

/** What can be said about a client that {@link dockerClient} did not make. */
export function describeClient(docker: Docker): EngineEndpoint {
  const modem = docker.modem as unknown as DialingModem;
  const source = "the client passed in";
  if (modem.host) {
    const scheme = modem.protocol === "ssh" ? "ssh" : "tcp";
    const tls = modem.protocol === "https" ? " (TLS)" : "";
    return { url: `${scheme}://${modem.host}:${modem.port ?? ""}${tls}`, source, modemOptions: {} };
  }
  const socketPath = typeof modem.socketPath === "string" ? modem.socketPath : undefined;
  return {
    url: socketPath ? `unix://${socketPath}` : "docker-modem's default socket",
    source,
    modemOptions: socketPath ? { socketPath } : {},
  };
}
