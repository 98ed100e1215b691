/**
 * The wire under every engine request: node:http over a unix socket or TCP, node:https with the
 * endpoint's secure-context agent, or an SSH channel (`docker system dial-stdio`, through
 * docker-modem's ssh agent, loaded at first use). One connection per request, closed after it, so
 * a cancelled or cut request never leaves a socket behind. Redirects are never followed: this
 * layer sends exactly one request and hands back whatever the engine answered.
 * @module
 */
import http, { type Agent, type ClientRequest, type OutgoingHttpHeaders } from "node:http";
import { createRequire } from "node:module";
import { InvalidArgumentError } from "../errors.js";
import type { EngineEndpoint, ModemOptions } from "./endpoint.js";

/** Where requests go, decided once per connection from an endpoint's options. */
export type EngineTarget =
  | { readonly kind: "socket"; readonly socketPath: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: string; readonly tls?: Agent }
  | { readonly kind: "ssh"; readonly host: string; readonly options: Record<string, unknown> };

/** One request as the transport sends it: method, full path with query, headers. */
export interface WireRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly signal?: AbortSignal | undefined;
}

/**
 * The target of an endpoint. A socket path may be a function (docker-modem's default finds
 * `~/.docker/run/docker.sock` asynchronously), hence the promise.
 */
export async function engineTarget(endpoint: EngineEndpoint): Promise<EngineTarget> {
  const options = endpoint.modemOptions as ModemOptions & {
    socketPath?: unknown;
    sshOptions?: Record<string, unknown>;
    username?: string;
    password?: string;
  };
  if (options.protocol === "ssh") {
    if (!options.host) throw new InvalidArgumentError(`${endpoint.url} has no SSH host`);
    return {
      kind: "ssh",
      host: options.host,
      options: {
        ...options.sshOptions,
        host: options.host,
        port: options.port ?? 22,
        ...(options.username ? { username: options.username } : {}),
        ...(options.password ? { password: options.password } : {}),
      },
    };
  }
  if (options.host) {
    const port = String(options.port ?? (options.protocol === "https" ? 2376 : 2375));
    if (options.protocol === "https") {
      return { kind: "tcp", host: options.host, port, tls: options.agent ?? tlsAgent(options) };
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

const require = createRequire(import.meta.url);
let httpsModule: typeof import("node:https") | undefined;

/** node:https and its TLS stack, loaded only for a TLS endpoint (about 2 MiB at start-up). */
export function https(): typeof import("node:https") {
  httpsModule ??= require("node:https") as typeof import("node:https");
  return httpsModule;
}

/** A TLS agent from PEM options given to a dockerode client the library did not make. */
function tlsAgent(options: ModemOptions): Agent {
  const { ca, cert, key } = options as { ca?: unknown; cert?: unknown; key?: unknown };
  return new (https().Agent)({
    ...(ca ? { ca: ca as string } : {}),
    ...(cert ? { cert: cert as string } : {}),
    ...(key ? { key: key as string } : {}),
  });
}

/**
 * Starts one request. Node's own `http.request` validates the method, path and header values and
 * throws on characters that would split the request; those throws become
 * {@link InvalidArgumentError}s.
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
        return http.request({ ...base, host: target.host, agent: sshAgent(target.options) });
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

type SshAgentFactory = (options: Record<string, unknown>) => Agent;
let sshAgentFactory: SshAgentFactory | undefined;

/**
 * docker-modem's SSH agent (one SSH connection running `docker system dial-stdio` per request),
 * loaded only when an `ssh://` endpoint is used: it pulls in ssh2 and its crypto.
 */
export function sshAgent(options: Record<string, unknown>): Agent {
  sshAgentFactory ??= require("docker-modem/lib/ssh.js") as SshAgentFactory;
  return sshAgentFactory(options);
}
