/**
 * Finding and talking to the Docker engine.
 *
 * The engine is chosen as the docker CLI chooses it: `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` and
 * `DOCKER_CERT_PATH` as docker-py reads them), else the Docker context named by `DOCKER_CONTEXT`
 * or by `currentContext` in the Docker config, else the default socket.
 * @module
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import path from "node:path";
import type { Readable } from "node:stream";
import { createSecureContext } from "node:tls";
import createDebug from "debug";
import Docker from "dockerode";
import { EngineUnreachableError, InvalidArgumentError } from "../errors.js";
import { encodeRegistryHeader } from "./credentials.js";
import {
  type ContextEndpoint,
  dockerConfigDir,
  homeDir,
  loadDockerConfig,
  readContext,
} from "./docker-config.js";

const debug = createDebug("prefect-dockerutils:engine");

/** Where the engine is, and how that was decided. */
export interface EngineEndpoint {
  /**
   * The endpoint as a URL, e.g. `unix:///var/run/docker.sock`, `tcp://127.0.0.1:2376 (TLS)` or
   * `ssh://me@host`.
   */
  readonly url: string;
  /**
   * How the endpoint was chosen: `DOCKER_HOST`, `DOCKER_CONTEXT "remote"`,
   * `currentContext "remote" in /home/me/.docker/config.json`, or `the default socket`.
   */
  readonly source: string;
  /** Options for dockerode / docker-modem. TLS material is inside `agent`, never in plain fields. */
  readonly modemOptions: ModemOptions;
}

/** docker-modem's options, including the ones @types/dockerode does not describe. */
export type ModemOptions = Docker.DockerOptions & {
  /** The HTTPS agent that carries the TLS settings of a TCP+TLS endpoint. */
  readonly agent?: HttpsAgent | undefined;
};

/** Options of {@link dockerClient} and {@link resolveEngine}. */
export interface DockerClientOptions {
  /**
   * The environment to read `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`,
   * `DOCKER_CONTEXT`, `DOCKER_CONFIG` and `HOME` from.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
}

const DEFAULT_SOCKET = "/var/run/docker.sock";

/**
 * docker-modem fills its options from `process.env` before applying ours; these explicit
 * `undefined`s keep that from mixing a `DOCKER_HOST` or `DOCKER_CERT_PATH` of the process into an
 * endpoint chosen from another environment or a context.
 */
const NEUTRAL: ModemOptions = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  agent: undefined,
};

/** TLS settings for a TCP endpoint. */
interface TlsSettings {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  /** Verify the engine's certificate (chain and host name). */
  readonly verify: boolean;
  /** Where the material came from, for error messages. */
  readonly from: string;
}

/**
 * Decides which engine to talk to, as the docker CLI does:
 *
 * 1. `DOCKER_HOST` (`unix://`, `tcp://`, `ssh://`), with TLS for `tcp://` as docker-py decides it:
 *    on when `DOCKER_TLS_VERIFY` or `DOCKER_CERT_PATH` is non-empty, the engine's certificate
 *    verified only when `DOCKER_TLS_VERIFY` is non-empty, the files `ca.pem`, `cert.pem` and
 *    `key.pem` from `DOCKER_CERT_PATH` (default `~/.docker`);
 * 2. the context named by `DOCKER_CONTEXT`, else by `currentContext` in the Docker config
 *    (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`): its endpoint and TLS material
 *    from `contexts/meta/<sha256 of name>/meta.json` and `contexts/tls/<sha256 of name>/docker/`;
 *    the context `default` means the default socket;
 * 3. the default socket, `unix:///var/run/docker.sock`.
 *
 * Nothing is connected to; {@link checkEngine} does that.
 *
 * @throws InvalidArgumentError for an unusable `DOCKER_HOST`, unreadable TLS files, a context
 *   that does not exist, or a Docker config that is not valid JSON.
 * @example
 * ```ts
 * resolveEngine({ env: { DOCKER_CONTEXT: "remote" } }).source; // 'DOCKER_CONTEXT "remote"'
 * ```
 */
export function resolveEngine(options: DockerClientOptions = {}): EngineEndpoint {
  const { env = process.env } = options;
  const host = env.DOCKER_HOST?.trim();
  if (host) return endpointFromHost(host, "DOCKER_HOST", envTls(host, env), env);

  let contextName = env.DOCKER_CONTEXT?.trim();
  let origin = contextName ? `DOCKER_CONTEXT ${JSON.stringify(contextName)}` : "";
  if (!contextName) {
    const config = loadDockerConfig(env);
    contextName = config.currentContext;
    if (contextName) origin = `currentContext ${JSON.stringify(contextName)} in ${config.file}`;
  }
  if (contextName && contextName !== "default") {
    const context = readContext(dockerConfigDir(env), contextName, origin);
    return endpointFromHost(context.host, origin, contextTls(context), env);
  }
  const source = contextName ? `the default socket (${origin})` : "the default socket";
  return { url: `unix://${DEFAULT_SOCKET}`, source, modemOptions: socketOptions(DEFAULT_SOCKET) };
}

function socketOptions(socketPath: string): ModemOptions {
  return { ...NEUTRAL, socketPath, protocol: "http" };
}

/** docker-py's `kwargs_from_env`: the TLS settings `DOCKER_HOST` is used with. */
function envTls(host: string, env: NodeJS.ProcessEnv): (() => TlsSettings) | undefined {
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  const certPath = env.DOCKER_CERT_PATH || undefined;
  if (!verify && certPath === undefined && !host.startsWith("https://")) return undefined;
  return () => {
    const dir = certPath ?? path.join(homeDir(env), ".docker");
    const read = (name: string) => {
      try {
        return readFileSync(path.join(dir, name));
      } catch (cause) {
        throw new InvalidArgumentError(
          `Cannot read ${name} from ${dir} for TLS to ${host}; set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem`,
          { cause },
        );
      }
    };
    return {
      ca: read("ca.pem"),
      cert: read("cert.pem"),
      key: read("key.pem"),
      verify,
      from: `DOCKER_CERT_PATH ${dir}`,
    };
  };
}

/** The CLI: a context uses TLS when it has TLS material or says SkipTLSVerify. */
function contextTls(context: ContextEndpoint): (() => TlsSettings) | undefined {
  const { ca, cert, key } = context.tls;
  if (!ca && !cert && !key && !context.skipTlsVerify) return undefined;
  return () => ({
    ca,
    cert,
    key,
    verify: !context.skipTlsVerify,
    from: `the TLS files of context ${JSON.stringify(context.name)}`,
  });
}

function endpointFromHost(
  host: string,
  source: string,
  tls: (() => TlsSettings) | undefined,
  env: NodeJS.ProcessEnv,
): EngineEndpoint {
  if (host.startsWith("unix://")) {
    const socketPath = host.slice("unix://".length) || DEFAULT_SOCKET;
    return { url: `unix://${socketPath}`, source, modemOptions: socketOptions(socketPath) };
  }
  if (host.startsWith("/")) {
    return { url: `unix://${host}`, source, modemOptions: socketOptions(host) };
  }
  if (host.startsWith("npipe://")) {
    const socketPath = host.slice("npipe://".length) || "//./pipe/docker_engine";
    return { url: host, source, modemOptions: socketOptions(socketPath) };
  }
  let parsed: URL;
  try {
    parsed = new URL(host.includes("://") ? host : `tcp://${host}`);
  } catch (cause) {
    throw new InvalidArgumentError(
      `${source} names the engine ${JSON.stringify(host)}, which is not a valid engine address; use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host`,
      { cause },
    );
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (parsed.protocol === "ssh:") {
    return {
      url: host,
      source,
      modemOptions: {
        ...NEUTRAL,
        protocol: "ssh",
        host: hostname,
        port: parsed.port || 22,
        ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
        // docker-modem only reads SSH_AUTH_SOCK when the process's own DOCKER_HOST is ssh://.
        ...(env.SSH_AUTH_SOCK ? { sshOptions: { agent: env.SSH_AUTH_SOCK } } : {}),
      },
    };
  }
  if (parsed.protocol !== "tcp:" && parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new InvalidArgumentError(
      `${source} names the engine ${JSON.stringify(host)}, whose scheme ${parsed.protocol} is not supported; use unix://, tcp:// or ssh://`,
    );
  }
  const settings = tls?.();
  const port = parsed.port || (settings ? "2376" : "2375");
  const hostPart = hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `tcp://${hostPart}:${port}${settings ? " (TLS)" : ""}`;
  if (!settings) {
    return { url, source, modemOptions: { ...NEUTRAL, protocol: "http", host: hostname, port } };
  }
  let secureContext: ReturnType<typeof createSecureContext>;
  try {
    secureContext = createSecureContext({
      ...(settings.ca ? { ca: settings.ca } : {}),
      ...(settings.cert ? { cert: settings.cert } : {}),
      ...(settings.key ? { key: settings.key } : {}),
    });
  } catch (cause) {
    throw new InvalidArgumentError(
      `The TLS material for ${url} (from ${source}) is not usable: ${(cause as Error).message}; check ${settings.from}`,
      { cause },
    );
  }
  // TLS lives in the agent as a native secure context: docker-modem logs its request options
  // (DEBUG=modem), and a private key passed as an option would be part of that log.
  const agent = new HttpsAgent({ secureContext, rejectUnauthorized: settings.verify });
  return {
    url,
    source,
    modemOptions: { ...NEUTRAL, protocol: "https", host: hostname, port, agent },
  };
}

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
interface DialingModem {
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

/** An engine response that was not a success, with the engine's own message. */
export class EngineHttpError extends Error {
  override readonly name = "EngineHttpError";
  /**
   * @param message - the engine's own message.
   * @param statusCode - the HTTP status of the response.
   */
  constructor(
    message: string,
    readonly statusCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Options of {@link requestStream}. */
export interface RequestStreamOptions {
  /** The HTTP method. */
  readonly method: "GET" | "POST";
  /** API path, e.g. `/build`. */
  readonly path: string;
  /** Query parameters; objects are sent as JSON, `undefined` values are left out. */
  readonly query?: Record<string, unknown>;
  /** The request body, e.g. a build context tar. */
  readonly body?: Readable;
  /**
   * Request headers. `X-Registry-Auth`, `X-Registry-Config` and `Authorization` are sent but kept
   * out of docker-modem's debug log.
   */
  readonly headers?: Record<string, string>;
  /** Cancels the request. */
  readonly signal?: AbortSignal;
}

/**
 * Sends one request to the engine and resolves to the streamed response when its status is 2xx.
 * Other statuses reject with an {@link EngineHttpError} carrying the engine's message; connection
 * failures reject as {@link dockerClient} explains them.
 */
export function requestStream(
  docker: Docker,
  options: RequestStreamOptions,
): Promise<IncomingMessage> {
  const modem = docker.modem as unknown as DialingModem;
  const query: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== null) query[key] = value;
  }
  return new Promise((resolve, reject) => {
    modem.dial(
      {
        path: `${options.path}?`,
        method: options.method,
        options: query,
        ...(options.body ? { file: options.body } : {}),
        ...(options.headers ? { headers: hideCredentialHeaders(options.headers) } : {}),
        ...(options.signal ? { abortSignal: options.signal } : {}),
        isStream: true,
        statusCodes: { 200: true, 201: true, 204: true },
      },
      (error, result) => {
        if (error) {
          const status = (error as { statusCode?: number }).statusCode;
          if (typeof status === "number") {
            reject(new EngineHttpError(engineMessage(error), status, { cause: error }));
          } else {
            reject(error);
          }
          return;
        }
        resolve(result as IncomingMessage);
      },
    );
  });
}

/** The engine's own message from a docker-modem error, without docker-modem's decorations. */
function engineMessage(error: unknown): string {
  const json = (error as { json?: unknown }).json;
  if (
    json &&
    typeof json === "object" &&
    typeof (json as { message?: unknown }).message === "string"
  ) {
    return (json as { message: string }).message;
  }
  if (typeof json === "string" && json.trim()) return json.trim();
  const message = (error as Error).message ?? String(error);
  // docker-modem's format: "(HTTP code 500) server error - <engine text> "
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();
}

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

/** What can be said about a client that {@link dockerClient} did not make. */
function describeClient(docker: Docker): EngineEndpoint {
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
