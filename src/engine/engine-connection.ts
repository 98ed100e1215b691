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
  readonly method: "GET" | "HEAD" | "POST" | "DELETE";
  /** API path without the version prefix, built with `enginePath` from caller strings. */
  readonly path: string;
  /** Objects are sent as JSON, arrays as repeated keys; `undefined` and `null` are left out. */
  readonly query?: Readonly<Record<string, unknown>>;
  readonly body?: Readable;
  /** Never logged: `X-Registry-Auth`, `X-Registry-Config` and `Authorization` hold credentials. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** Options of {@link EngineConnection.upgrade}. */
export interface EngineUpgradeOptions {
  readonly path: string;
  /** The protocol to upgrade to, e.g. `h2c`. */
  readonly protocol: string;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly signal?: AbortSignal;
}

/** Options of {@link EngineConnection.ping}. */
export interface PingOptions {
  readonly signal?: AbortSignal | undefined;
  /** @default 2000 (10000 for `ssh://` endpoints, whose handshake takes longer) */
  readonly timeoutMs?: number | undefined;
}

/** What an engine says about itself in the headers of its `/_ping` answer. */
export interface EnginePing {
  readonly apiVersion: string | undefined;
  /** `"2"` BuildKit by default, `"1"` classic; Podman sends it empty. */
  readonly builderVersion: string | undefined;
  readonly osType: string | undefined;
  /** Podman's API service (`Libpod-Api-Version`, `Server: Libpod/...`): no BuildKit session. */
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

/**
 * The one way the library's operations talk to an engine, natively over node:http(s) or ssh
 * (engine-transport.ts); a dockerode client only tells where the engine is. Making one does no I/O.
 */
export interface EngineConnection {
  readonly endpoint: EngineEndpoint;
  /** The headers of the last successful {@link EngineConnection.ping}, if any. */
  readonly lastPing?: EnginePing | undefined;
  /** `GET /_ping`; rejects with an `EngineUnreachableError` that says what to fix. */
  ping(options?: PingOptions): Promise<EngineEndpoint>;
  /**
   * Resolves to the streamed response of a 2xx answer; any other status (redirects included: they
   * are never followed) rejects with an `EngineHttpError` carrying the engine's message.
   */
  request(options: EngineRequestOptions): Promise<IncomingMessage>;
  /** The JSON of a short answer (at most 1 MiB), `undefined` for an empty body. */
  requestJson(options: EngineRequestOptions): Promise<unknown>;
  /** The raw socket once the engine answers `101 Switching Protocols`; else `EngineHttpError`. */
  upgrade(options: EngineUpgradeOptions): Promise<Duplex>;
}

/** Options of {@link openEngine}. */
export interface OpenEngineOptions {
  /** @default the engine `env` names, like the docker CLI */
  readonly docker?: DockerodeClient | undefined;
  /**
   * Where to find the engine, and what an `ssh` for it runs in (for a client made by
   * `dockerClient({ env })`, that client's `env`).
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv | undefined;
}

/** A connection to the engine `options` name; no I/O until a method is called. */
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

  async #resolveTarget(signal: AbortSignal | undefined): Promise<EngineTarget> {
    this.#target ??= engineTarget(this.endpoint, this.#env);
    const target = await this.#target.catch((error: unknown) => {
      throw explainConnectionError(error, this.endpoint);
    });
    signal?.throwIfAborted();
    return target;
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
      // Saves the operation that pinged a second round trip (BuildKit's versions, push hints).
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
    const target = await this.#resolveTarget(signal);
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
    const target = await this.#resolveTarget(signal);
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
