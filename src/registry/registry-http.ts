/**
 * One HTTP request to a registry or its token server: no redirect is ever followed (the caller
 * sees the 3xx), silence is bounded by `timeoutMs`, and answers are read only up to a bound.
 * @module
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { createDebug } from "../debug-logger.js";
import { https } from "../lazy-builtins.js";

const debug = createDebug("prefect-dockerutils:registry");

/** A request body the transport can send again (after a 401, or on a retry). */
export interface BodySource {
  /** Sent as `Content-Length`. */
  readonly size: number;
  /** A fresh stream of the whole body. */
  open(): Readable;
}

/** One request to {@link sendHttp}. */
export interface HttpRequest {
  readonly method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: Buffer | BodySource | undefined;
  readonly signal?: AbortSignal | undefined;
  /** How long the connection may stay silent (connecting included) before the request fails. */
  readonly timeoutMs: number;
  readonly agents: HttpAgents;
  /** `false` only for a registry the engine treats as insecure. @default true */
  readonly verifyTls?: boolean | undefined;
}

/** An answer whose body is still to be read. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Every value of each header, e.g. several `www-authenticate` lines. */
  readonly headersDistinct: Readonly<Record<string, string[]>>;
  readonly body: IncomingMessage;
}

/**
 * The keep-alive connection pools of one client: plain HTTP, HTTPS that verifies certificates, and
 * HTTPS that does not (what the engine does for a registry it treats as insecure). Destroyed with
 * the client, so no socket outlives the operation.
 */
export class HttpAgents {
  readonly #pools = new Map<string, http.Agent>();

  /** The pool for `url`'s scheme; `verifyTls: false` only matters for `https:`. */
  for(url: URL, verifyTls: boolean): http.Agent {
    const key = url.protocol === "http:" ? "http" : `https ${verifyTls}`;
    let agent = this.#pools.get(key);
    if (agent === undefined) {
      const options = { keepAlive: true, maxSockets: 8 };
      agent =
        key === "http"
          ? new http.Agent(options)
          : new (https().Agent)({ ...options, rejectUnauthorized: verifyTls });
      this.#pools.set(key, agent);
    }
    return agent;
  }

  /** Closes every pooled connection. */
  destroy(): void {
    for (const agent of this.#pools.values()) agent.destroy();
    this.#pools.clear();
  }
}

/** A silent connection: retried like a reset, as `ETIMEDOUT`. */
class SilenceError extends Error {
  readonly code = "ETIMEDOUT";
}

/**
 * Sends one request and resolves to the answer, whatever its status. Rejects on connection
 * errors, on silence longer than `timeoutMs`, and with the signal's reason when it aborts.
 */
export function sendHttp(request: HttpRequest): Promise<HttpResponse> {
  const { method, url, body, signal, timeoutMs } = request;
  signal?.throwIfAborted();
  const headers: Record<string, string | number> = { ...request.headers };
  if (Buffer.isBuffer(body)) headers["Content-Length"] = body.length;
  else if (body) headers["Content-Length"] = body.size;
  else if (method === "PUT" || method === "POST" || method === "PATCH")
    headers["Content-Length"] = 0;
  const agent = request.agents.for(url, request.verifyTls ?? true);
  const module = url.protocol === "https:" ? https() : http;
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      reject(signal?.aborted ? signal.reason : error);
    };
    const onAbort = () => {
      clientRequest.destroy(signal?.reason as Error);
      fail(signal?.reason);
    };
    const clientRequest = module.request(url, { method, headers, agent });
    clientRequest.setTimeout(timeoutMs, () =>
      clientRequest.destroy(
        new SilenceError(
          `${url.host} sent nothing for ${timeoutMs} ms (${method} ${url.pathname})`,
        ),
      ),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    clientRequest.on("error", fail);
    const started = performance.now();
    clientRequest.once("response", (response) => {
      // The path only: an upload URL's query carries the registry's upload state.
      debug(
        "%s %s%s: %d (%d ms)",
        method,
        url.host,
        url.pathname,
        response.statusCode,
        Math.round(performance.now() - started),
      );
      if (settled) {
        response.destroy();
        return;
      }
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      // Once answered, an abort ends the body that is still being read.
      if (signal) {
        const onBodyAbort = () => response.destroy(signal.reason as Error);
        signal.addEventListener("abort", onBodyAbort, { once: true });
        response.once("close", () => signal.removeEventListener("abort", onBodyAbort));
      }
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        headersDistinct: response.headersDistinct as Record<string, string[]>,
        body: response,
      });
    });
    if (body === undefined || Buffer.isBuffer(body)) {
      clientRequest.end(body);
      return;
    }
    const stream = body.open();
    stream.once("error", (error) => clientRequest.destroy(error));
    // An early answer (a 401 before the body was sent) ends the upload.
    clientRequest.once("response", () => stream.destroy());
    clientRequest.once("close", () => stream.destroy());
    stream.pipe(clientRequest);
  });
}

/** Reads a whole answer, or `undefined` (the connection destroyed) when it is over `maxBytes`. */
export async function readBounded(
  response: HttpResponse,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      response.body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Reads and drops an answer's body (bounded), so its connection can serve the next request. */
export async function discard(response: HttpResponse): Promise<void> {
  // Read even when `complete`: a body received but never read keeps its socket from the pool.
  if (response.body.readableEnded || response.body.destroyed) return;
  // A body that fails while being dropped changes nothing.
  await readBounded(response, 64 * 1024).catch(() => undefined);
}
