/**
 * The one way the library's operations talk to an engine: a connection object with `ping`,
 * `request`, `requestJson` and (for BuildKit sessions) `upgrade`, spoken natively over node:http
 * and node:https (see engine-transport.ts). Operations never load dockerode: a dockerode client
 * given as the `docker` option only tells where the engine is.
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Duplex, Readable } from "node:stream";
import { createDebug } from "../debug-logger.js";
import {
  DEFAULT_PING_TIMEOUT_MS,
  DEFAULT_SSH_PING_TIMEOUT_MS,
  MAX_ENGINE_ERROR_BODY_BYTES,
  MAX_ENGINE_JSON_BODY_BYTES,
} from "../defaults.js";
import { type EngineEndpoint, resolveEngine } from "../docker-config/endpoint.js";
import { EngineHttpError, EngineUnreachableError } from "../errors.js";
import { type DockerodeClient, endpointOfClient, envOfClient } from "./client-endpoint.js";
import { httpErrorOf, readBody } from "./engine-answer.js";
import { explainConnectionError, unreachableError } from "./engine-errors.js";
import { checkEnginePath } from "./engine-path.js";
import { type EngineTarget, engineTarget, sendRequest } from "./engine-transport.js";
import { queryKeys, queryString } from "./query-string.js";

const debug = createDebug("prefect-dockerutils:engine");

/** Options of {@link EngineConnection.request}. */
export interface EngineRequestOptions {
  /** The HTTP method. */
  readonly method: "GET" | "HEAD" | "POST" | "DELETE";
  /**
   * API path such as `/build`, without the version prefix. Build it with `enginePath` when any
   * part of it comes from a caller; it is checked again before sending (no query, no `.` or `..`
   * segment, no control character).
   */
  readonly path: string;
  /**
   * Query parameters; objects are sent as JSON, arrays as repeated keys, `undefined` and `null`
   * values are left out. Every value is percent-encoded.
   */
  readonly query?: Readonly<Record<string, unknown>>;
  /** The request body, e.g. a build context tar. */
  readonly body?: Readable;
  /**
   * Request headers. They are never logged (`X-Registry-Auth`, `X-Registry-Config` and
   * `Authorization` carry credentials).
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Cancels the request; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Options of {@link EngineConnection.upgrade}. */
export interface EngineUpgradeOptions {
  /** API path, e.g. `/session`. */
  readonly path: string;
  /** The protocol to upgrade to, e.g. `h2c`. */
  readonly protocol: string;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Cancels the upgrade while it is under way. */
  readonly signal?: AbortSignal;
}

/** Options of {@link EngineConnection.ping}. */
export interface PingOptions {
  /** Cancels the ping; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /**
   * How long to wait for the engine's answer, connecting included, before giving up.
   * @default 2000 (10000 for `ssh://` endpoints, whose handshake takes longer)
   */
  readonly timeoutMs?: number | undefined;
}

/** What an engine says about itself in the headers of its `/_ping` answer. */
export interface EnginePing {
  readonly apiVersion: string | undefined;
  /** `Builder-Version`: `"2"` BuildKit by default, `"1"` classic; Podman sends it empty. */
  readonly builderVersion: string | undefined;
  readonly osType: string | undefined;
  /**
   * Whether the engine is Podman's Docker-compatible API service, which names itself in
   * `Libpod-Api-Version` and `Server: Libpod/<version>`. Its registry settings live in
   * registries.conf, and it has no BuildKit session.
   */
  readonly podman: boolean;
}

/** The {@link EnginePing} of a `/_ping` answer's headers. */
export function enginePingOf(headers: IncomingHttpHeaders): EnginePing {
  const header = (name: string) => {
    const value = headers[name];
    return typeof value === "string" ? value : undefined;
  };
  return {
    apiVersion: header("api-version"),
    builderVersion: header("builder-version"),
    osType: header("ostype"),
    podman: header("libpod-api-version") !== undefined || /^Libpod\//.test(header("server") ?? ""),
  };
}

/** A connection to one engine. Making one does no I/O. */
export interface EngineConnection {
  /** Where the engine is and how that was decided. */
  readonly endpoint: EngineEndpoint;
  /** The headers of the last successful {@link EngineConnection.ping}, if any. */
  readonly lastPing?: EnginePing | undefined;
  /**
   * Pings the engine (`GET /_ping`) and resolves to its endpoint, or rejects with an
   * `EngineUnreachableError` that says what to fix.
   */
  ping(options?: PingOptions): Promise<EngineEndpoint>;
  /**
   * Sends one request and resolves to the streamed response when its status is 2xx. Any other
   * status (redirects included: they are never followed) rejects with an `EngineHttpError`
   * carrying the engine's message.
   */
  request(options: EngineRequestOptions): Promise<IncomingMessage>;
  /**
   * Like {@link EngineConnection.request}, for short answers: reads the whole body (at most
   * 1 MiB) and resolves to its JSON, or `undefined` for an empty body.
   */
  requestJson(options: EngineRequestOptions): Promise<unknown>;
  /**
   * Sends an HTTP upgrade request (`POST`, `Connection: Upgrade`) and resolves to the raw socket
   * once the engine answers `101 Switching Protocols`. Any other answer rejects with an
   * `EngineHttpError`.
   */
  upgrade(options: EngineUpgradeOptions): Promise<Duplex>;
}

/** Options of {@link openEngine}. */
export interface OpenEngineOptions {
  /**
   * A dockerode client whose engine to talk to: its endpoint (socket, host, TLS, SSH) is used,
   * never its request code.
   * @default the engine `env` names, like the docker CLI
   */
  readonly docker?: DockerodeClient | undefined;
  /**
   * The environment to find the engine in, and the one an `ssh` for an `ssh://` engine runs in
   * (for a `docker` client made by `dockerClient({ env })`, that client's `env`).
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv | undefined;
}

/** A connection to the engine `options` name. No I/O happens until a method is called. */
export function openEngine(options: OpenEngineOptions = {}): EngineConnection {
  const endpoint = options.docker
    ? endpointOfClient(options.docker)
    : resolveEngine(options.env ? { env: options.env } : {});
  const clientEnv = options.docker ? envOfClient(options.docker) : undefined;
  return new NativeEngineConnection(endpoint, clientEnv ?? options.env ?? process.env);
}

class NativeEngineConnection implements EngineConnection {
  readonly endpoint: EngineEndpoint;
  lastPing: EnginePing | undefined;
  readonly #env: NodeJS.ProcessEnv;
  #target: Promise<EngineTarget> | undefined;

  constructor(endpoint: EngineEndpoint, env: NodeJS.ProcessEnv) {
    this.endpoint = endpoint;
    this.#env = env;
  }

  #resolveTarget(): Promise<EngineTarget> {
    this.#target ??= engineTarget(this.endpoint, this.#env);
    return this.#target;
  }

  async ping(options: PingOptions = {}): Promise<EngineEndpoint> {
    const { signal } = options;
    const timeoutMs =
      options.timeoutMs ??
      (this.endpoint.url.startsWith("ssh://")
        ? DEFAULT_SSH_PING_TIMEOUT_MS
        : DEFAULT_PING_TIMEOUT_MS);
    signal?.throwIfAborted();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await this.request({
        method: "GET",
        path: "/_ping",
        signal: controller.signal,
      });
      await readBody(response, MAX_ENGINE_ERROR_BODY_BYTES, controller.signal);
      // Kept for the operation that pinged: BuildKit needs the API and builder versions, and a
      // push's hints which engine it is, which a second ping would cost a round trip to learn.
      this.lastPing = enginePingOf(response.headers);
      debug("engine %s (from %s) answered", this.endpoint.url, this.endpoint.source);
      return this.endpoint;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (controller.signal.aborted) {
        throw new EngineUnreachableError(
          `Cannot reach the Docker engine at ${this.endpoint.url} (from ${this.endpoint.source}): no answer within ${timeoutMs} ms`,
          this.endpoint.url,
          { cause: error },
        );
      }
      throw unreachableError(error, this.endpoint);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async request(request: EngineRequestOptions): Promise<IncomingMessage> {
    const { method, body, signal } = request;
    const path = checkEnginePath(request.path);
    const search = queryString(request.query);
    signal?.throwIfAborted();
    // Nothing may flow out of the body before it is piped into the request, whatever the caller
    // attached to it: pipe() resumes it.
    body?.pause();
    const target = await this.#resolveTarget().catch((error: unknown) => {
      throw explainConnectionError(error, this.endpoint);
    });
    signal?.throwIfAborted();
    const headers: OutgoingHttpHeaders = { ...request.headers };
    if (!body && method === "POST") headers["Content-Length"] = 0;
    debug("%s %s%s (%s)", method, path, queryKeys(request.query), this.endpoint.url);
    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        reject(signal?.aborted ? signal.reason : explainConnectionError(error, this.endpoint));
      };
      const clientRequest = sendRequest(target, {
        method,
        path: path + search,
        headers,
        signal,
      });
      // Errors after the answer belong to the response's reader; before it, they reject.
      clientRequest.on("error", fail);
      clientRequest.once("response", (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          settled = true;
          resolve(response);
          return;
        }
        if (body) body.unpipe(clientRequest);
        httpErrorOf(method, path, response, signal).then((error) => {
          clientRequest.destroy();
          fail(error);
        }, fail);
      });
      if (body) {
        body.once("error", (error) => clientRequest.destroy(error));
        body.pipe(clientRequest);
      } else {
        clientRequest.end();
      }
    });
  }

  async requestJson(request: EngineRequestOptions): Promise<unknown> {
    const response = await this.request(request);
    const text = (await readBody(response, MAX_ENGINE_JSON_BODY_BYTES, request.signal))
      .toString("utf8")
      .trim();
    if (response.errored || !response.complete) {
      throw new EngineHttpError(
        `The engine's answer to ${request.method} ${request.path} was cut off`,
        response.statusCode ?? 0,
      );
    }
    if (text === "") return undefined;
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new EngineHttpError(
        `The engine's answer to ${request.method} ${request.path} is not JSON`,
        response.statusCode ?? 0,
        { cause },
      );
    }
  }

  async upgrade(upgrade: EngineUpgradeOptions): Promise<Duplex> {
    const path = checkEnginePath(upgrade.path);
    const { signal } = upgrade;
    signal?.throwIfAborted();
    const target = await this.#resolveTarget().catch((error: unknown) => {
      throw explainConnectionError(error, this.endpoint);
    });
    signal?.throwIfAborted();
    debug("POST %s, upgrading to %s (%s)", path, upgrade.protocol, this.endpoint.url);
    return new Promise<Duplex>((resolve, reject) => {
      let settled = false;
      const clientRequest = sendRequest(target, {
        method: "POST",
        path,
        headers: { ...upgrade.headers, Connection: "Upgrade", Upgrade: upgrade.protocol },
      });
      const onAbort = () => clientRequest.destroy();
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        action();
      };
      const fail = (error: unknown) =>
        settle(() =>
          reject(signal?.aborted ? signal.reason : explainConnectionError(error, this.endpoint)),
        );
      signal?.addEventListener("abort", onAbort, { once: true });
      clientRequest.on("error", fail);
      clientRequest.once("upgrade", (_response, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        settle(() => resolve(socket));
      });
      clientRequest.once("response", (response) => {
        httpErrorOf("POST", path, response, signal, "did not switch protocols").then((error) => {
          clientRequest.destroy();
          fail(error);
        }, fail);
      });
      clientRequest.end();
    });
  }
}
