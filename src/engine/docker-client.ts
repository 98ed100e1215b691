/**
 * The public dockerode client (`prefect-dockerutils/dockerode`), configured from the environment
 * like the docker CLI and hardened, through dockerode's public API only: its connections come
 * from an agent of this library (docker-modem's documented `agent` option), which reaches the
 * engine as the library does (`ssh://` through the system ssh included) and checks each request
 * on the wire (request-guard.ts). dockerode is an optional peer dependency, loaded at the first
 * call.
 * @module
 */
import http from "node:http";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import type Dockerode from "dockerode";
import { createDebug } from "../debug-logger.js";
import { type DockerClientOptions, resolveEngine } from "../docker-config/endpoint.js";
import { MissingDependencyError } from "../errors.js";
import { rememberEndpoint } from "./client-endpoint.js";
import { explainConnectionError } from "./engine-errors.js";
import { connect, type EngineTarget, engineTarget } from "./engine-transport.js";
import { guardConnection } from "./request-guard.js";

const debug = createDebug("prefect-dockerutils:engine");

let DockerodeClass: typeof Dockerode | undefined;

/** dockerode, loaded at the first {@link dockerClient} call. */
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
 * A dockerode client configured from the environment like the docker CLI (see `resolveEngine`).
 * Every request made through it that cannot reach the engine fails with an
 * `EngineUnreachableError` naming the endpoint that was tried and how it was chosen.
 *
 * Beyond plain dockerode, its requests travel the way the library's own do (for `ssh://`
 * engines: the system `ssh` running `docker system dial-stdio`, as the docker CLI does), it never
 * follows a redirect from the engine (a 3xx fails the call with an `EngineHttpError` carrying the
 * status), and it refuses a request whose path holds a `.` or `..` segment, a second `?`, a `#` or
 * a control character, which only a hostile name (`getImage("../../x")`) produces, before
 * connecting. Registry credentials given to it as `registryconfig` are sent URL-safe base64
 * encoded, as the engine expects (docker-modem sends standard base64, which the engine drops).
 *
 * Its `modem.socketPath` holds the endpoint's URL whatever the endpoint (docker-modem then sends
 * request paths as they are written, for the checks above to see); `resolveEngine` tells where it
 * points.
 *
 * dockerode is an optional peer dependency: install it (`npm install dockerode`, and
 * `@types/dockerode` for its types) to use this function. The library's own operations never
 * need it.
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
    // docker-modem cleans `..` out of a request path when it resolves it against a host, before
    // the guard could see it, but sends it as it is on a socket: so it always gets a "socket",
    // which names the endpoint. Where connections go is the agent's business.
    socketPath: endpoint.modemOptions.socketPath ?? endpoint.url,
    protocol: "http",
    // docker-modem fills what is not given from process.env (DOCKER_HOST, DOCKER_CERT_PATH).
    host: undefined,
    port: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    // @ts-expect-error docker-modem documents `agent`; @types/dockerode's DockerOptions lacks it.
    agent: new EngineAgent(target, (error) => explainConnectionError(error, endpoint) as Error),
  });
  rememberEndpoint(docker, endpoint, env);
  return docker;
}

/** The agent of {@link dockerClient}'s clients: one new, guarded connection per request. */
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
