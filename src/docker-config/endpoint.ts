import { readFileSync } from "node:fs";
import type { Agent as HttpsAgent } from "node:https";
import { createRequire } from "node:module";
import path from "node:path";
import type { ConnectionOptions } from "node:tls";
import { InvalidArgumentError } from "../errors.js";
import {
  type ContextEndpoint,
  dockerConfigDir,
  homeDir,
  loadDockerConfig,
  readContext,
} from "./docker-config.js";
import { parseSshUrl } from "./ssh-command.js";

/** Where the engine is, and how that was decided. */
export interface EngineEndpoint {
  /**
   * The endpoint as a URL, e.g. `unix:///var/run/docker.sock`, `tcp://127.0.0.1:2376 (TLS)` or
   * `ssh://me@host`. It never holds a password.
   */
  readonly url: string;
  /**
   * How the endpoint was chosen: `DOCKER_HOST`, `DOCKER_CONTEXT "remote"`,
   * `currentContext "remote" in /home/me/.docker/config.json`, or `the default socket`.
   */
  readonly source: string;
  /**
   * The options `new Dockerode(options)` takes to reach this endpoint. TLS material is inside
   * `agent`, never in plain fields.
   */
  readonly modemOptions: ModemOptions;
}

/**
 * The options of dockerode's constructor (docker-modem's) that an endpoint sets: a valid
 * `Dockerode.DockerOptions`, declared here so that this package's types need no dockerode.
 */
export interface ModemOptions {
  /** The engine's unix socket (or Windows named pipe). */
  readonly socketPath?: string | undefined;
  /** For `tcp://` and `ssh://` endpoints. */
  readonly host?: string | undefined;
  /** The engine's port, or the SSH port. */
  readonly port?: string | number | undefined;
  readonly protocol?: "http" | "https" | "ssh" | undefined;
  /** The SSH user. */
  readonly username?: string | undefined;
  /** For docker-modem's own SSH client: the agent socket (`SSH_AUTH_SOCK`). */
  readonly sshOptions?: { readonly agent?: string | undefined } | undefined;
  /** Always `undefined`: TLS material is in {@link ModemOptions.agent}. */
  readonly ca?: undefined;
  /** Always `undefined`, as `ca`. */
  readonly cert?: undefined;
  /** Always `undefined`, as `ca`. */
  readonly key?: undefined;
  /** The HTTPS agent that carries the TLS settings of a TCP+TLS endpoint. */
  readonly agent?: HttpsAgent | undefined;
}

/** Options of `dockerClient()` (prefect-dockerutils/dockerode) and {@link resolveEngine}. */
export interface DockerClientOptions {
  /**
   * The environment to read `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`,
   * `DOCKER_CONTEXT`, `DOCKER_CONFIG` and `HOME` from.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
}

const DEFAULT_SOCKET = "/var/run/docker.sock";

/**
 * docker-modem fills its options from `process.env` before applying ours; these explicit
 * `undefined`s keep that from mixing a `DOCKER_HOST` or `DOCKER_CERT_PATH` of the process into an
 * endpoint chosen from another environment or a context.
 */
export const NEUTRAL_MODEM_OPTIONS: ModemOptions = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  agent: undefined,
};

interface TlsSettings {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  /** Verify the engine's certificate (chain and host name). */
  readonly verify: boolean;
  /** Where the material came from, for messages. */
  readonly from: string;
}

/**
 * Decides which engine to talk to, as the docker CLI does:
 *
 * 1. `DOCKER_HOST` (`unix://`, `tcp://`, `ssh://`), with TLS for `tcp://` as docker-py decides it:
 *    on when `DOCKER_TLS_VERIFY` or `DOCKER_CERT_PATH` is non-empty, the engine's certificate
 *    verified only when `DOCKER_TLS_VERIFY` is non-empty, the files `ca.pem`, `cert.pem` and
 *    `key.pem` from `DOCKER_CERT_PATH` (default `~/.docker`);
 * 2. the context named by `DOCKER_CONTEXT`, else by `currentContext` in the Docker config
 *    (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`): its endpoint and TLS material
 *    from `contexts/meta/<sha256 of name>/meta.json` and `contexts/tls/<sha256 of name>/docker/`;
 *    the context `default` means the default socket;
 * 3. the default socket, `unix:///var/run/docker.sock`.
 *
 * Nothing is connected to; {@link checkEngine} does that.
 *
 * @throws InvalidArgumentError for an unusable `DOCKER_HOST`, unreadable TLS files, a context
 *   that does not exist, or a Docker config that is not valid JSON.
 * @example
 * ```ts
 * resolveEngine({ env: { DOCKER_CONTEXT: "remote" } }).source; // 'DOCKER_CONTEXT "remote"'
 * ```
 */
export function resolveEngine(options: DockerClientOptions = {}): EngineEndpoint {
  const { env = process.env } = options;
  const host = env.DOCKER_HOST?.trim();
  if (host) return endpointFromHost(host, "DOCKER_HOST", envTls(host, env), env);

  let contextName = env.DOCKER_CONTEXT?.trim();
  let origin = contextName ? `DOCKER_CONTEXT ${JSON.stringify(contextName)}` : "";
  if (!contextName) {
    const config = loadDockerConfig(env);
    contextName = config.currentContext;
    if (contextName) origin = `currentContext ${JSON.stringify(contextName)} in ${config.file}`;
  }
  if (contextName && contextName !== "default") {
    const context = readContext(dockerConfigDir(env), contextName, origin);
    return endpointFromHost(context.host, origin, contextTls(context), env);
  }
  const source = contextName ? `the default socket (${origin})` : "the default socket";
  return { url: `unix://${DEFAULT_SOCKET}`, source, modemOptions: socketOptions(DEFAULT_SOCKET) };
}

function socketOptions(socketPath: string): ModemOptions {
  return { ...NEUTRAL_MODEM_OPTIONS, socketPath, protocol: "http" };
}

/** docker-py's `kwargs_from_env`: the TLS settings `DOCKER_HOST` is used with. */
function envTls(host: string, env: NodeJS.ProcessEnv): (() => TlsSettings) | undefined {
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  const certPath = env.DOCKER_CERT_PATH || undefined;
  if (!verify && certPath === undefined && !host.startsWith("https://")) return undefined;
  return () => {
    const dir = certPath ?? path.join(homeDir(env), ".docker");
    const read = (name: string) => {
      try {
        return readFileSync(path.join(dir, name));
      } catch (cause) {
        throw new InvalidArgumentError(
          `Cannot read ${name} from ${dir} for TLS to ${redactHost(host)}; set DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem`,
          { cause },
        );
      }
    };
    return {
      ca: read("ca.pem"),
      cert: read("cert.pem"),
      key: read("key.pem"),
      verify,
      from: `DOCKER_CERT_PATH ${dir}`,
    };
  };
}

/** The CLI: a context uses TLS when it has TLS material or says SkipTLSVerify. */
function contextTls(context: ContextEndpoint): (() => TlsSettings) | undefined {
  const { ca, cert, key } = context.tls;
  if (!ca && !cert && !key && !context.skipTlsVerify) return undefined;
  return () => ({
    ca,
    cert,
    key,
    verify: !context.skipTlsVerify,
    from: `the TLS files of context ${JSON.stringify(context.name)}`,
  });
}

function endpointFromHost(
  host: string,
  source: string,
  tls: (() => TlsSettings) | undefined,
  env: NodeJS.ProcessEnv,
): EngineEndpoint {
  if (host.startsWith("unix://")) {
    const socketPath = host.slice("unix://".length) || DEFAULT_SOCKET;
    return { url: `unix://${socketPath}`, source, modemOptions: socketOptions(socketPath) };
  }
  if (host.startsWith("/")) {
    return { url: `unix://${host}`, source, modemOptions: socketOptions(host) };
  }
  if (host.startsWith("npipe://")) {
    const socketPath = host.slice("npipe://".length) || "//./pipe/docker_engine";
    return { url: host, source, modemOptions: socketOptions(socketPath) };
  }
  const shown = `${source} names the engine ${JSON.stringify(redactHost(host))}`;
  if (/^ssh:\/\//i.test(host)) {
    const destination = parseSshUrl(host, shown);
    return {
      url: host,
      source,
      modemOptions: {
        ...NEUTRAL_MODEM_OPTIONS,
        protocol: "ssh",
        host: destination.host,
        port: destination.port ?? 22,
        ...(destination.user === undefined ? {} : { username: destination.user }),
        // docker-modem only reads SSH_AUTH_SOCK when the process's own DOCKER_HOST is ssh://.
        ...(env.SSH_AUTH_SOCK ? { sshOptions: { agent: env.SSH_AUTH_SOCK } } : {}),
      },
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(host.includes("://") ? host : `tcp://${host}`);
  } catch {
    // Without the cause: Node's URL error carries the whole address, password included, as `input`.
    throw new InvalidArgumentError(
      `${shown}, which is not a valid engine address; use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host`,
    );
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (parsed.protocol !== "tcp:" && parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new InvalidArgumentError(
      `${shown}, whose scheme ${parsed.protocol} is not supported; use unix://, tcp:// or ssh://`,
    );
  }
  const settings = tls?.();
  const port = parsed.port || (settings ? "2376" : "2375");
  const hostPart = hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `tcp://${hostPart}:${port}${settings ? " (TLS)" : ""}`;
  if (!settings) {
    return {
      url,
      source,
      modemOptions: { ...NEUTRAL_MODEM_OPTIONS, protocol: "http", host: hostname, port },
    };
  }
  // TLS is loaded only for TLS endpoints: node:https and node:tls cost about 2 MiB at start-up.
  const require = createRequire(import.meta.url);
  const { createSecureContext } = require("node:tls") as typeof import("node:tls");
  const { Agent } = require("node:https") as typeof import("node:https");
  let secureContext: ReturnType<typeof createSecureContext>;
  try {
    secureContext = createSecureContext({
      ...(settings.ca ? { ca: settings.ca } : {}),
      ...(settings.cert ? { cert: settings.cert } : {}),
      ...(settings.key ? { key: settings.key } : {}),
    });
  } catch (cause) {
    throw new InvalidArgumentError(
      `The TLS material for ${url} (from ${source}) is not usable: ${(cause as Error).message}; check ${settings.from}`,
      { cause },
    );
  }
  // TLS lives in the agent as a native secure context: docker-modem logs its request options
  // (DEBUG=modem), and a private key passed as an option would be part of that log.
  const connectOptions = { secureContext, rejectUnauthorized: settings.verify };
  const agent: HttpsAgent = new Agent(connectOptions);
  tlsConnectOptions.set(agent, connectOptions);
  return {
    url,
    source,
    modemOptions: { ...NEUTRAL_MODEM_OPTIONS, protocol: "https", host: hostname, port, agent },
  };
}

/** The TLS settings of the agents made above, for connections made without an agent. */
const tlsConnectOptions = new WeakMap<object, ConnectionOptions>();

/**
 * The TLS settings (secure context, verification) of an endpoint's `modemOptions.agent`, when
 * {@link resolveEngine} made it; `undefined` for an agent made elsewhere.
 */
export function tlsOptionsOf(agent: object): ConnectionOptions | undefined {
  return tlsConnectOptions.get(agent);
}

/**
 * An engine address as messages show it: the password of any user info replaced by `***`
 * (`ssh://alice:***@host`), the user name kept. Everything between the first `:` after the scheme
 * and the last `@` counts as the password, so a password holding `/`, `@` or `#` is masked whole.
 */
export function redactHost(host: string): string {
  const schemeEnd = host.indexOf("://");
  const start = schemeEnd === -1 ? 0 : schemeEnd + 3;
  const at = host.lastIndexOf("@");
  if (at < start) return host;
  const colon = host.indexOf(":", start);
  if (colon === -1 || colon > at) return host;
  return `${host.slice(0, colon)}:***${host.slice(at)}`;
}
