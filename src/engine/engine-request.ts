/**
 * Raw requests to the engine, with the engine's own error text.
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { EngineHttpError } from "../errors.js";
import { type DialingModem, hideCredentialHeaders } from "./docker-client.js";

/** Options of {@link requestStream}. */
export interface RequestStreamOptions {
  /** The HTTP method. */
  readonly method: "GET" | "POST" | "DELETE";
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
export function engineMessage(error: unknown): string {
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
