// One connection per request, closed after it, so that a cancelled or cut request never leaves a
// socket or an ssh process behind. Redirects are never followed: one request, whatever answer.
import http, { type Agent, type ClientRequest, type OutgoingHttpHeaders } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { type EngineEndpoint, tlsOptionsOf } from "../docker-config/endpoint.js";
import { parseSshUrl, type SshDestination } from "../docker-config/ssh-command.js";
import { InvalidArgumentError } from "../errors.js";
import { https, tls } from "../lazy-builtins.js";
import { openSshConnection } from "./ssh-connection.js";

/** Where requests go, decided once per connection. */
export type EngineTarget =
  | { readonly kind: "socket"; readonly socketPath: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: string; readonly tls?: Agent }
  | {
      readonly kind: "ssh";
      readonly destination: SshDestination;
      readonly env: NodeJS.ProcessEnv;
      readonly endpoint: EngineEndpoint;
    };

/** One request as the transport sends it. */
export interface WireRequest {
  readonly method: string;
  /** With the query. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The target of an endpoint: a promise, as a socket path may be a function (docker-modem's default
 * finds `~/.docker/run/docker.sock` asynchronously). `env` is what an `ssh` child runs in.
 */
export async function engineTarget(
  endpoint: EngineEndpoint,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EngineTarget> {
  const options = endpoint.modemOptions;
  if (options.protocol === "ssh") {
    // The URL is the address as given (resolveEngine refused a password in it).
    const destination = parseSshUrl(
      endpoint.url,
      `${endpoint.source} names the engine ${JSON.stringify(endpoint.url)}`,
    );
    return { kind: "ssh", destination, env, endpoint };
  }
  if (options.host) {
    const port = String(options.port ?? (options.protocol === "https" ? 2376 : 2375));
    if (options.protocol === "https") {
      return { kind: "tcp", host: options.host, port, tls: options.agent ?? new (https().Agent)() };
    }
    return { kind: "tcp", host: options.host, port };
  }
  let socketPath: unknown = options.socketPath;
  if (typeof socketPath === "function") socketPath = await (socketPath as () => unknown)();
  if (typeof socketPath !== "string" || !socketPath) {
    throw new InvalidArgumentError(`${endpoint.url} names no engine socket or host`);
  }
  return { kind: "socket", socketPath };
}

/**
 * Starts one request.
 * @throws InvalidArgumentError where Node's `http.request` refuses characters that would split it.
 */
export function sendRequest(target: EngineTarget, request: WireRequest): ClientRequest {
  const base = {
    method: request.method,
    path: request.path,
    headers: request.headers,
    ...(request.signal ? { signal: request.signal } : {}),
  };
  try {
    switch (target.kind) {
      case "socket":
        return http.request({ ...base, socketPath: target.socketPath, agent: false });
      case "tcp":
        return target.tls
          ? https().request({ ...base, host: target.host, port: target.port, agent: target.tls })
          : http.request({ ...base, host: target.host, port: target.port, agent: false });
      case "ssh":
        // No agent: Node then takes the connection from createConnection, for this request only.
        return http.request({
          ...base,
          host: "localhost",
          createConnection: () => connect(target),
        });
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_INVALID_CHAR" || code === "ERR_UNESCAPED_CHARACTERS") {
      throw new InvalidArgumentError(
        `A request header or path holds characters HTTP cannot carry: ${(error as Error).message}`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * A raw connection to the engine, for dockerode's agent (docker-client.ts).
 * @throws InvalidArgumentError for a TLS agent `resolveEngine` did not make (its settings unknown).
 */
export function connect(target: EngineTarget): Duplex {
  switch (target.kind) {
    case "socket":
      return net.connect({ path: target.socketPath });
    case "tcp": {
      if (!target.tls) return net.connect({ host: target.host, port: Number(target.port) });
      const settings = tlsOptionsOf(target.tls);
      if (!settings) {
        throw new InvalidArgumentError(
          `tcp://${target.host}:${target.port} (TLS) uses an HTTPS agent made elsewhere, whose TLS settings cannot be read`,
        );
      }
      return tls().connect({
        ...settings,
        host: target.host,
        port: Number(target.port),
        // SNI and the certificate check use the name; an address is checked against the IP SANs.
        ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
      });
    }
    case "ssh":
      return openSshConnection({
        destination: target.destination,
        env: target.env,
        endpoint: target.endpoint,
      });
  }
}
