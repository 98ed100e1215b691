import { rm } from "node:fs/promises";
import http from "node:http";
import type net from "node:net";

/** One request that reached the proxy, as the client sent it. */
export interface LoggedRequest {
  readonly method: string;
  /** The request target exactly as sent: path and query. */
  readonly url: string;
}

/** Options of {@link LoggingProxy.start}. */
export interface LoggingProxyOptions {
  /** Listen on this unix socket instead of a loopback TCP port. */
  readonly socketPath?: string;
  /**
   * Changes the path sent to the engine (the log keeps what the client sent). Used to make the
   * real engine answer with its own redirect, which no path this library sends can provoke.
   */
  readonly rewrite?: (method: string, url: string) => string;
}

/**
 * An HTTP proxy in front of the real engine (/var/run/docker.sock) that logs every request it
 * receives. It listens on 127.0.0.1 or on a unix socket of the test's own.
 */
export class LoggingProxy implements AsyncDisposable {
  readonly #server: http.Server;
  readonly #socketPath: string | undefined;
  /** Every request received so far, in order. */
  readonly requests: LoggedRequest[] = [];

  private constructor(server: http.Server, socketPath: string | undefined) {
    this.#server = server;
    this.#socketPath = socketPath;
  }

  static async start(options: LoggingProxyOptions = {}): Promise<LoggingProxy> {
    const server = http.createServer();
    const proxy = new LoggingProxy(server, options.socketPath);
    server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
      const method = request.method ?? "";
      const url = request.url ?? "";
      proxy.requests.push({ method, url });
      // Hop-by-hop headers stay on this hop, as in any proxy (RFC 9110, 7.6.1): a client's
      // `Connection: close` passed on would make the engine close the upstream connection right
      // after answering a request it did not read to the end, and the rest of it fail to arrive.
      const { connection: _connection, "keep-alive": _keepAlive, ...headers } = request.headers;
      const upstream = http.request(
        {
          socketPath: "/var/run/docker.sock",
          method,
          path: options.rewrite ? options.rewrite(method, url) : url,
          headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on("error", () => response.destroy());
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) =>
      options.socketPath
        ? server.listen(options.socketPath, resolve)
        : server.listen(0, "127.0.0.1", resolve),
    );
    return proxy;
  }

  /** A DOCKER_HOST that reaches the engine through this proxy. */
  get dockerHost(): string {
    return this.#socketPath
      ? `unix://${this.#socketPath}`
      : `tcp://127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (this.#socketPath) await rm(this.#socketPath, { force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
