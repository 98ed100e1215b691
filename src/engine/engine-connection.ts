/**
 * The one way the library's operations talk to an engine: a connection object with `ping`,
 * `request` and (for BuildKit sessions) `upgrade`. Operations never touch dockerode directly.
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { Duplex, Readable } from "node:stream";
import type Docker from "dockerode";
import { InvalidArgumentError } from "../errors.js";
import { type CheckEngineOptions, checkEngine } from "./check-engine.js";
import { type DialingModem, dockerClient, engineEndpointOf } from "./docker-client.js";
import type { EngineEndpoint } from "./endpoint.js";
import { requestStream } from "./engine-request.js";

/** Options of {@link EngineConnection.request}. */
export interface EngineRequestOptions {
  /** The HTTP method. */
  readonly method: "GET" | "HEAD" | "POST" | "DELETE";
  /**
   * API path such as `/build`, without the version prefix. Build it with `enginePath` when any
   * part of it comes from a caller.
   */
  readonly path: string;
  /** Query parameters; objects are sent as JSON, `undefined` values are left out. */
  readonly query?: Readonly<Record<string, unknown>>;
  /** The request body, e.g. a build context tar. */
  readonly body?: Readable;
  /**
   * Request headers. `X-Registry-Auth`, `X-Registry-Config` and `Authorization` are sent but kept
   * out of every debug log.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Cancels the request. */
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

/** A connection to one engine. Making one does no I/O. */
export interface EngineConnection {
  /** Where the engine is and how that was decided. */
  readonly endpoint: EngineEndpoint;
  /**
   * Pings the engine (`GET /_ping`) and resolves to its endpoint, or rejects with an
   * `EngineUnreachableError` that says what to fix.
   */
  ping(options?: CheckEngineOptions): Promise<EngineEndpoint>;
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
  /** Sends an HTTP upgrade request and resolves to the hijacked socket once the engine agrees. */
  upgrade(options: EngineUpgradeOptions): Promise<Duplex>;
}

/** Options of {@link openEngine}. */
export interface OpenEngineOptions {
  /** A dockerode client to talk through. @default one made from `env` like the docker CLI */
  readonly docker?: Docker | undefined;
  /** The environment to find the engine in. @default process.env */
  readonly env?: NodeJS.ProcessEnv | undefined;
}

/** A connection to the engine `options` name. No I/O happens until a method is called. */
export function openEngine(options: OpenEngineOptions = {}): EngineConnection {
  const docker = options.docker ?? dockerClient(options.env ? { env: options.env } : {});
  const endpoint = engineEndpointOf(docker);
  return {
    get endpoint() {
      return (
        endpoint ?? { url: "the client passed in", source: "the docker option", modemOptions: {} }
      );
    },
    ping: (pingOptions) => checkEngine(docker, pingOptions),
    request(request) {
      if (request.method === "HEAD") {
        // Placeholder until the native transport: docker-modem's dial has no HEAD.
        return Promise.reject(new InvalidArgumentError(`${request.method} is not supported yet`));
      }
      return requestStream(docker, {
        method: request.method,
        path: request.path,
        ...(request.query ? { query: { ...request.query } } : {}),
        ...(request.body ? { body: request.body } : {}),
        ...(request.headers ? { headers: { ...request.headers } } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    },
    async requestJson(request) {
      const response = await this.request(request);
      return readJsonBody(response, request.signal);
    },
    upgrade(upgrade) {
      const modem = docker.modem as unknown as DialingModem & {
        dial(
          options: Record<string, unknown>,
          callback: (error: unknown, socket: unknown) => void,
        ): void;
      };
      upgrade.signal?.throwIfAborted();
      return new Promise<Duplex>((resolve, reject) => {
        modem.dial(
          {
            method: "POST",
            path: upgrade.path,
            hijack: true,
            headers: { Upgrade: upgrade.protocol, ...upgrade.headers },
            ...(upgrade.signal ? { abortSignal: upgrade.signal } : {}),
            statusCodes: { 101: true, 200: true },
          },
          (error, socket) => (error ? reject(error) : resolve(socket as Duplex)),
        );
      });
    },
  };
}

const MAX_JSON_BODY = 1024 * 1024;

/** Reads a short JSON answer; bounded, so a hostile or broken engine cannot fill the memory. */
async function readJsonBody(response: IncomingMessage, signal?: AbortSignal): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  const onAbort = () => response.destroy(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const chunk of response) {
      size += (chunk as Buffer).length;
      if (size > MAX_JSON_BODY) {
        response.destroy();
        throw new InvalidArgumentError(
          `The engine's answer is larger than ${MAX_JSON_BODY} bytes, which no short answer is`,
        );
      }
      chunks.push(chunk as Buffer);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  return text === "" ? undefined : JSON.parse(text);
}
