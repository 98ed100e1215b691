import type { Agent as HttpsAgent } from "node:https";
import type { EngineEndpoint, ModemOptions } from "../docker-config/endpoint.js";
import { InvalidArgumentError } from "../errors.js";
import { https } from "../lazy-builtins.js";
import { show } from "../validate.js";

/**
 * A dockerode client (`new Dockerode(...)` or `dockerClient()`), of which only where its `modem`
 * points is read, never its request code. Structural, so that the package needs no dockerode.
 */
export interface DockerodeClient {
  readonly modem: object;
}

const made = new WeakMap<object, { endpoint: EngineEndpoint; env: NodeJS.ProcessEnv }>();

/** The endpoint and environment `dockerClient()` made a client for, for the two functions below. */
export function rememberEndpoint(
  client: object,
  endpoint: EngineEndpoint,
  env: NodeJS.ProcessEnv,
): void {
  made.set(client, { endpoint, env });
}

/** The environment `dockerClient({ env })` was given, for a client it made. */
export function envOfClient(docker: DockerodeClient): NodeJS.ProcessEnv | undefined {
  return made.get(docker)?.env;
}

/**
 * Where a dockerode client talks to: the endpoint `dockerClient()` resolved, or its modem's fields.
 * @throws InvalidArgumentError when `docker` is not a dockerode client, or names an SSH password
 *   (the system `ssh` takes none, as in the docker CLI).
 */
export function endpointOfClient(docker: DockerodeClient): EngineEndpoint {
  if (docker === null || typeof docker !== "object") {
    throw new InvalidArgumentError(
      `docker must be a dockerode client such as dockerClient(), got ${show(docker)}`,
    );
  }
  const known = made.get(docker);
  if (known) return known.endpoint;
  // docker-modem's fields, as any caller may have set them.
  const modem = (docker as { modem?: unknown }).modem as Record<string, unknown> | undefined;
  if (!modem || typeof modem !== "object") {
    throw new InvalidArgumentError(
      "docker must be a dockerode client such as dockerClient(): it has no modem",
    );
  }
  const source = "the client passed in";
  const host = typeof modem.host === "string" ? modem.host : "";
  if (host) {
    const port = typeof modem.port === "string" || typeof modem.port === "number" ? modem.port : "";
    const username = typeof modem.username === "string" ? modem.username : "";
    if (modem.protocol === "ssh") {
      if (modem.password) {
        throw new InvalidArgumentError(
          `docker is a dockerode client for ssh://${host} with an SSH password: plain-text passwords are not supported (nor by the docker CLI); let ssh authenticate with a key, from ~/.ssh/config or the agent (SSH_AUTH_SOCK)`,
        );
      }
      const user = username ? `${encodeURIComponent(username)}@` : "";
      const hostPart = host.includes(":") ? `[${host}]` : host;
      return {
        url: `ssh://${user}${hostPart}:${port || 22}`,
        source,
        modemOptions: {
          protocol: "ssh",
          host,
          port: port || 22,
          ...(username ? { username } : {}),
        },
      };
    }
    const tls = modem.protocol === "https";
    const url = `tcp://${host}:${port}${tls ? " (TLS)" : ""}`;
    if (!tls) {
      return { url, source, modemOptions: { protocol: "http", host, ...(port ? { port } : {}) } };
    }
    const agent = (modem.agent as HttpsAgent | undefined) ?? tlsAgent(modem);
    return {
      url,
      source,
      modemOptions: { protocol: "https", host, ...(port ? { port } : {}), agent },
    };
  }
  const socketPath = modem.socketPath;
  return {
    url: typeof socketPath === "string" ? `unix://${socketPath}` : "docker-modem's default socket",
    source,
    // A function for docker-modem's default, which finds ~/.docker/run/docker.sock itself.
    modemOptions: { socketPath } as ModemOptions,
  };
}

/** An HTTPS agent with the PEM material of the modem's own TLS fields. */
function tlsAgent(modem: Record<string, unknown>): HttpsAgent {
  const { ca, cert, key } = modem as { ca?: string; cert?: string; key?: string };
  return new (https().Agent)({
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
  });
}
