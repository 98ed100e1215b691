import http from "node:http";
import net from "node:net";
import { Transform, type TransformCallback } from "node:stream";

/** Where a {@link FaultProxy} forwards to: a unix socket path or a loopback TCP port. */
export type ProxyTarget = { readonly socketPath: string } | { readonly port: number };

/**
 * A loopback TCP proxy in front of a real engine or registry, to inject the faults the real
 * services cannot produce on demand: cutting every connection, answering the first HTTP
 * requests with 503, or going silent in the middle of a response. It listens on 127.0.0.1 only.
 */
export class FaultProxy implements AsyncDisposable {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #bytesToTarget = 0;
  #failNext = 0;
  #stallMarker: Buffer | undefined;
  #heldBytes = 0;
  /** HTTP requests answered with 503 so far. */
  failed = 0;

  private constructor(
    readonly target: ProxyTarget,
    server: net.Server,
  ) {
    this.#server = server;
  }

  /** Starts a proxy on a free loopback port. */
  static async start(target: ProxyTarget): Promise<FaultProxy> {
    const server = net.createServer();
    const proxy = new FaultProxy(target, server);
    server.on("connection", (client) => proxy.#accept(client));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  /** The port the proxy listens on. */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Bytes the clients sent through the proxy so far. */
  get bytesToTarget(): number {
    return this.#bytesToTarget;
  }

  /** Answers the next `count` connections' first request with `503 Service Unavailable`. */
  failNextRequests(count: number): void {
    this.#failNext = count;
  }

  /**
   * Makes the next response that contains `marker` go silent right before it: the bytes up to the
   * marker reach the client, nothing after them does, and the response never ends, while the
   * connection stays open. Only that connection stalls; the others (and new ones) pass as usual.
   */
  stallAt(marker: string): void {
    this.#stallMarker = Buffer.from(marker);
  }

  /** Bytes the target sent after a stall (see {@link stallAt}) that the client never got. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Cuts every open connection at once (a reset, as when a proxy or network dies). */
  cutAll(): void {
    for (const socket of this.#sockets) {
      // A reset (RST) needs a TCP handle; the unix socket to the engine can only be closed.
      if (socket.remoteFamily) socket.resetAndDestroy();
      else socket.destroy();
    }
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #accept(client: net.Socket): void {
    this.#sockets.add(client);
    client.on("close", () => this.#sockets.delete(client));
    client.on("error", () => undefined);
    if (this.#failNext > 0) {
      this.#failNext--;
      this.failed++;
      client.once("data", () => {
        client.end(
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\nService Unavailable",
        );
      });
      return;
    }
    const upstream = net.connect(
      "socketPath" in this.target
        ? { path: this.target.socketPath }
        : { host: "127.0.0.1", port: this.target.port },
    );
    this.#sockets.add(upstream);
    upstream.on("close", () => this.#sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("data", (chunk: Buffer) => {
      this.#bytesToTarget += chunk.length;
    });
    const gate = this.#gate();
    // One side gone means the other goes too, as with a real connection through a proxy; but a
    // stalled connection stays open towards the client even when the target has hung up (an
    // engine that answered with `Connection: close`), as a proxy that went silent would.
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => {
      if (!gate.stalled) client.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(gate).pipe(client);
  }

  /** Passes the target's bytes on until a stall (see {@link stallAt}); then holds them back. */
  #gate(): Transform & { readonly stalled: boolean } {
    const proxy = this;
    let stalled = false;
    /** The last bytes passed on, in case the marker is split between two chunks. */
    let previous: Buffer = Buffer.alloc(0);
    const gate = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        if (!stalled && proxy.#stallMarker) {
          const at = Buffer.concat([previous, chunk]).indexOf(proxy.#stallMarker);
          if (at !== -1) {
            proxy.#stallMarker = undefined;
            stalled = true;
            const passed = Math.max(0, at - previous.length);
            proxy.#heldBytes += chunk.length - passed;
            callback(null, chunk.subarray(0, passed));
            return;
          }
          previous = chunk.subarray(Math.max(0, chunk.length - 64));
        }
        if (stalled) {
          proxy.#heldBytes += chunk.length;
          callback();
        } else {
          callback(null, chunk);
        }
      },
      flush(callback: TransformCallback) {
        if (!stalled) callback();
      },
    });
    return Object.defineProperty(gate, "stalled", { get: () => stalled }) as Transform & {
      readonly stalled: boolean;
    };
  }
}

/**
 * A loopback HTTP proxy in front of the real registry that answers chosen requests with
 * `503 Service Unavailable`, as an overloaded registry or load balancer does.
 */
export class HttpFaultProxy implements AsyncDisposable {
  readonly #server: http.Server;
  #failures: { remaining: number; matches: (method: string, url: string) => boolean } | undefined;
  /** Requests answered with 503 so far. */
  failed = 0;

  private constructor(server: http.Server) {
    this.#server = server;
  }

  /** Starts a proxy on a free loopback port in front of 127.0.0.1:`port`. */
  static async start(port: number): Promise<HttpFaultProxy> {
    const server = http.createServer();
    const proxy = new HttpFaultProxy(server);
    server.on("request", (request, response) => proxy.#handle(port, request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  /** The port the proxy listens on. */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Answers the next `count` requests for which `matches` holds with 503. */
  failNext(count: number, matches: (method: string, url: string) => boolean): void {
    this.#failures = { remaining: count, matches };
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #handle(port: number, request: http.IncomingMessage, response: http.ServerResponse): void {
    const failures = this.#failures;
    if (
      failures &&
      failures.remaining > 0 &&
      failures.matches(request.method ?? "", request.url ?? "")
    ) {
      failures.remaining--;
      this.failed++;
      request.resume();
      response.writeHead(503, { "Content-Type": "text/plain" }).end("Service Unavailable");
      return;
    }
    const upstream = http.request(
      {
        host: "127.0.0.1",
        port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", () => response.destroy());
    request.pipe(upstream);
  }
}
