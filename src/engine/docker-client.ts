import http from "node:http";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import type Dockerode from "dockerode";
import { createDebug } from "../debug-logger.js";
import {
  type DockerClientOptions,
  NEUTRAL_MODEM_OPTIONS,
  resolveEngine,
} from "../docker-config/endpoint.js";
import { MissingDependencyError } from "../errors.js";
import { rememberEndpoint } from "./client-endpoint.js";
import { explainConnectionError } from "./engine-errors.js";
import { connect, type EngineTarget, engineTarget } from "./engine-transport.js";
import { guardConnection } from "./request-guard.js";

const debug = createDebug("prefect-dockerutils:engine");

let DockerodeClass: typeof Dockerode | undefined;

function loadDockerode(): typeof Dockerode {
  if (DockerodeClass) return DockerodeClass;
  try {
    DockerodeClass = createRequire(import.meta.url)("dockerode") as typeof Dockerode;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw cause;
    throw new MissingDependencyError(
      "dockerClient() needs dockerode, an optional peer dependency of prefect-dockerutils that is not installed: run `npm install dockerode` (and `npm install -D @types/dockerode` for its types)",
      "dockerode",
      { cause },
    );
  }
  return DockerodeClass;
}

/**
 * A dockerode client for the engine `resolveEngine` finds, whose requests travel as the library's
 * own do (`ssh://` through the system `ssh`) through an agent of this library (docker-modem's
 * documented `agent` option) that checks each on the wire (request-guard.ts): an unreachable
 * engine fails with an `EngineUnreachableError` naming the endpoint and how it was chosen, a 3xx
 * with an `EngineHttpError` (redirects are never followed), and a path with a `.` or `..` segment,
 * a second `?`, a `#` or a control character (only a hostile name such as `getImage("../../x")`
 * makes one) is refused before connecting. `registryconfig` is sent URL-safe base64, as the engine
 * expects. Its `modem.socketPath` holds the endpoint's URL whatever the endpoint.
 *
 * dockerode is an optional peer dependency (`npm install dockerode`, and `@types/dockerode`),
 * loaded at the first call; the library's own operations never need it.
 *
 * @throws MissingDependencyError when dockerode is not installed;
 *   InvalidArgumentError for an unusable engine address (see `resolveEngine`).
 * @example
 * ```ts
 * import { dockerClient } from "prefect-dockerutils/dockerode";
 *
 * const docker = dockerClient();
 * const images = await docker.listImages();
 * ```
 */
export function dockerClient(options: DockerClientOptions = {}): Dockerode {
  const endpoint = resolveEngine(options);
  debug("engine %s (from %s)", endpoint.url, endpoint.source);
  const DockerodeCtor = loadDockerode();
  const env = options.env ?? process.env;
  const target = engineTarget(endpoint, env);
  // Its failure reaches each request through the agent; this only keeps it from being unhandled.
  target.catch(() => undefined);
  const docker = new DockerodeCtor({
    ...NEUTRAL_MODEM_OPTIONS,
    // docker-modem cleans `..` out of a request path when it resolves it against a host, before
    // the guard could see it, but sends it as it is on a socket: so it always gets a "socket",
    // which names the endpoint. Where connections go is the agent's business.
    socketPath: endpoint.modemOptions.socketPath ?? endpoint.url,
    protocol: "http",
    // @ts-expect-error docker-modem documents `agent`; @types/dockerode's DockerOptions lacks it.
    agent: new EngineAgent(target, (error) => explainConnectionError(error, endpoint) as Error),
  });
  rememberEndpoint(docker, endpoint, env);
  return docker;
}

/** One new, guarded connection per request. */
class EngineAgent extends http.Agent {
  readonly #target: Promise<EngineTarget>;
  readonly #explain: (error: Error) => Error;

  constructor(target: Promise<EngineTarget>, explain: (error: Error) => Error) {
    super({ keepAlive: false });
    this.#target = target;
    this.#explain = explain;
  }

  override createConnection(
    _options: unknown,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): undefined {
    this.#target.then(
      (target) =>
        callback?.(
          null,
          guardConnection(() => connect(target), this.#explain),
        ),
      (error: Error) => callback?.(this.#explain(error), undefined as unknown as Duplex),
    );
    return undefined;
  }
}
