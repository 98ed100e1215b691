/**
 * The public dockerode client, configured from the environment like the docker CLI, loaded only
 * when asked for, and hardened: it never follows a redirect and refuses request paths that a
 * caller's string could have steered to another endpoint.
 * @module
 */
import http, { type ClientRequest, type IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { addAbortSignal, type Readable } from "node:stream";
import type Docker from "dockerode";
import { createDebug } from "../debug-logger.js";
import { InvalidArgumentError } from "../errors.js";
import { show } from "../validate.js";
import {
  type DockerClientOptions,
  type EngineEndpoint,
  type ModemOptions,
  resolveEngine,
} from "./endpoint.js";
import { explainConnectionError } from "./engine-errors.js";
import { checkEnginePath } from "./engine-path.js";
import { https, sshAgent } from "./engine-transport.js";
import { encodeRegistryHeader } from "./registry-header.js";

const debug = createDebug("prefect-dockerutils:engine");

const endpoints = new WeakMap<object, EngineEndpoint>();

let DockerClass: typeof Docker | undefined;

/** dockerode, loaded at the first {@link dockerClient} call: it brings ssh2, grpc and protobuf. */
function loadDockerode(): typeof Docker {
  DockerClass ??= createRequire(import.meta.url)("dockerode") as typeof Docker;
  return DockerClass;
}

/**
 * A dockerode client configured from the environment like the docker CLI (see
 * {@link resolveEngine}). Every request made through it that cannot reach the engine fails with an
 * {@link EngineUnreachableError} naming the endpoint that was tried and how it was chosen.
 *
 * Beyond plain dockerode, the client never follows a redirect from the engine (a 3xx fails the
 * call with its status), and refuses a request whose path holds a `.` or `..` segment, a second
 * `?`, a `#` or a control character, which only a hostile name (`getImage("../../x")`) produces.
 * Registry credentials given to it (`authconfig`, `registryconfig`) are sent URL-safe base64
 * encoded, as the engine expects (docker-modem sends `registryconfig` in standard base64, which
 * the engine drops), and no header is ever logged.
 *
 * dockerode itself is loaded on the first call, not when the package is imported.
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
  const DockerCtor = loadDockerode();
  const docker = new DockerCtor(endpoint.modemOptions);
  const modem = docker.modem as unknown as ModemInternals;
  const dial = modem.dial.bind(modem);
  modem.dial = (dialOptions, callback) => {
    try {
      checkEnginePath(dialOptions.path.replace(/\?$/, ""));
    } catch (error) {
      process.nextTick(() => callback(error, null));
      return;
    }
    dial(protectCredentials(dialOptions, modem), (error, result) =>
      callback(error ? explainConnectionError(error, endpoint) : error, result),
    );
  };
  modem.buildRequest = buildRequestWithoutRedirects;
  endpoints.set(docker, endpoint);
  return docker;
}

/**
 * Where a dockerode client talks to: the endpoint {@link dockerClient} resolved for it, or what
 * its modem's options say for a client made elsewhere.
 *
 * @throws InvalidArgumentError when `docker` is not a dockerode client.
 */
export function endpointOfClient(docker: Docker): EngineEndpoint {
  if (docker === null || typeof docker !== "object") {
    throw new InvalidArgumentError(
      `docker must be a dockerode client such as dockerClient(), got ${show(docker)}`,
    );
  }
  const known = endpoints.get(docker);
  if (known) return known;
  const modem = (docker as { modem?: unknown }).modem as ModemInternals | undefined;
  if (!modem || typeof modem !== "object") {
    throw new InvalidArgumentError(
      "docker must be a dockerode client such as dockerClient(): it has no modem",
    );
  }
  const source = "the client passed in";
  if (modem.host) {
    const port = modem.port ?? "";
    if (modem.protocol === "ssh") {
      const user = modem.username ? `${modem.username}@` : "";
      return {
        url: `ssh://${user}${modem.host}:${port || 22}`,
        source,
        modemOptions: {
          protocol: "ssh",
          host: modem.host,
          port: port || 22,
          ...(modem.username ? { username: modem.username } : {}),
          ...(modem.password ? { password: modem.password } : {}),
          ...(modem.sshOptions ? { sshOptions: modem.sshOptions } : {}),
        } as ModemOptions,
      };
    }
    const tls = modem.protocol === "https";
    return {
      url: `tcp://${modem.host}:${port}${tls ? " (TLS)" : ""}`,
      source,
      modemOptions: {
        protocol: tls ? "https" : "http",
        host: modem.host,
        ...(port ? { port } : {}),
        ...(tls && modem.agent ? { agent: modem.agent } : {}),
        ...(tls && modem.ca ? { ca: modem.ca } : {}),
        ...(tls && modem.cert ? { cert: modem.cert } : {}),
        ...(tls && modem.key ? { key: modem.key } : {}),
      } as ModemOptions,
    };
  }
  const socketPath = modem.socketPath;
  return {
    url: typeof socketPath === "string" ? `unix://${socketPath}` : "docker-modem's default socket",
    source,
    modemOptions: { socketPath } as ModemOptions,
  };
}

/** docker-modem's instance fields and methods this module reads or replaces. */
interface ModemInternals {
  dial(options: DialOptions, callback: (error: unknown, result: unknown) => void): void;
  buildRequest: typeof buildRequestWithoutRedirects;
  buildPayload(
    error: unknown,
    isStream: boolean | undefined,
    statusCodes: Record<number, unknown> | undefined,
    openStdin: boolean | undefined,
    request: unknown,
    response: unknown,
    json: unknown,
    callback: (error: unknown, result: unknown) => void,
  ): void;
  headers?: Record<string, string>;
  socketPath?: unknown;
  host?: string;
  port?: string | number;
  protocol?: string;
  username?: string;
  password?: string;
  sshOptions?: Record<string, unknown>;
  agent?: http.Agent;
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
  timeout?: number;
  connectionTimeout?: number;
}

interface DialOptions {
  path: string;
  method?: string;
  headers?: Record<string, string>;
  authconfig?: { key?: string; base64?: string } & Record<string, unknown>;
  registryconfig?: { base64?: string } & Record<string, unknown>;
  [option: string]: unknown;
}

interface RequestContext {
  hijack?: boolean;
  isStream?: boolean;
  openStdin?: boolean;
  statusCodes?: Record<number, unknown>;
}

/**
 * docker-modem's `buildRequest`, minus the one thing this library cannot accept: docker-modem
 * sends every request through its own copy of follow-redirects, which follows an engine's 301 to
 * wherever its `Location` points (a host taken from a hostile path) and crashes the process when
 * that host does not answer. Here a 3xx is just an unexpected status, which `buildPayload` turns
 * into an error. Everything else (hijack, timeouts, streams, SSH) is as docker-modem does it.
 */
function buildRequestWithoutRedirects(
  this: ModemInternals,
  options: http.RequestOptions & { signal?: AbortSignal },
  context: RequestContext,
  data: string | Buffer | Readable | undefined,
  callback: (error: unknown, result: unknown) => void,
): void {
  let finished = false;
  let connectionTimer: NodeJS.Timeout | undefined;
  const requestOptions =
    this.protocol === "ssh"
      ? Object.assign(options, {
          agent: sshAgent({
            ...this.sshOptions,
            host: this.host,
            port: this.port,
            username: this.username,
            password: this.password,
          }),
          protocol: "http:",
        })
      : options;
  let request: ClientRequest;
  try {
    request = (this.protocol === "https" ? https() : http).request(requestOptions);
  } catch (error) {
    callback(error, null);
    return;
  }
  // Method and path only: headers carry credentials and the query may carry build args.
  debug("dockerode %s %s", options.method, String(options.path).replace(/\?.*$/, ""));
  if (this.connectionTimeout) {
    connectionTimer = setTimeout(() => request.destroy(), this.connectionTimeout);
  }
  if (this.timeout) {
    request.setTimeout(this.timeout);
    request.on("timeout", () => request.destroy());
  }
  if (context.hijack === true) {
    clearTimeout(connectionTimer);
    request.on("upgrade", (_response, socket, head: Buffer) => {
      if (finished) return;
      finished = true;
      if (head.length > 0) socket.unshift(head);
      callback(null, socket);
    });
  }
  request.on("connect", () => clearTimeout(connectionTimer));
  request.on("response", (response: IncomingMessage) => {
    clearTimeout(connectionTimer);
    if (context.isStream === true) {
      if (finished) return;
      finished = true;
      this.buildPayload(
        null,
        true,
        context.statusCodes,
        context.openStdin,
        request,
        response,
        null,
        callback,
      );
      return;
    }
    if (options.signal) addAbortSignal(options.signal, response);
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => {
      const buffer = Buffer.concat(chunks);
      let json: unknown;
      try {
        json = JSON.parse(buffer.toString());
      } catch {
        json = buffer;
      }
      if (finished) return;
      finished = true;
      this.buildPayload(null, false, context.statusCodes, false, request, response, json, callback);
    });
  });
  request.on("error", (error) => {
    clearTimeout(connectionTimer);
    if (finished) return;
    finished = true;
    this.buildPayload(error, context.isStream, context.statusCodes, false, {}, {}, null, callback);
  });
  if (typeof data === "string" || Buffer.isBuffer(data)) {
    request.write(data);
  } else if (data) {
    data.on("error", (error) => request.destroy(error));
    data.pipe(request);
  }
  if (
    !context.openStdin &&
    (typeof data === "string" || data === undefined || Buffer.isBuffer(data))
  ) {
    request.end();
  }
}

/** Headers that carry credentials. */
const SECRET_HEADER = /^(x-registry-auth|x-registry-config|authorization)$/i;

/**
 * Headers whose credential entries Node's HTTP client sends but `util.inspect` does not show, so
 * that no debug log of request options (docker-modem's, or a user's) can print them:
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
 * credential header from debug logs.
 */
function protectCredentials(options: DialOptions, modem: ModemInternals): DialOptions {
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
