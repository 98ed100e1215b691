/**
 * `moby.sshforward.v1.SSH`: `RUN --mount=type=ssh` reaches an SSH agent on this machine. Like
 * the docker CLI's, the forwarded agent is read-only: list keys and sign, never add or remove.
 * @module
 */
import { statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { createDebug } from "../debug-logger.js";
import { InvalidArgumentError } from "../errors.js";
import {
  type BytesMessage,
  SSHDefinition,
} from "./generated/github.com/moby/buildkit/session/sshforward/ssh.js";
import { GrpcStatus } from "./session-server.js";
import { defineService, type ServiceCall, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

/** The ID of a plain `RUN --mount=type=ssh`. */
export const DEFAULT_SSH_ID = "default";
/** Names the agent of a ForwardAgent call in its metadata. */
const SSH_ID_KEY = "buildkit.ssh.id";
/** How long connecting to an agent socket may take (the CLI's is 1 s too). */
const CONNECT_TIMEOUT_MS = 1_000;
/** Real agent messages are a few kilobytes. */
const MAX_AGENT_MESSAGE = 256 * 1024;
/** SSH_AGENTC_REQUEST_IDENTITIES and SSH_AGENTC_SIGN_REQUEST: all a read-only agent answers. */
const ALLOWED_REQUESTS = new Set([11, 13]);
/** SSH_AGENT_FAILURE, the answer to everything else. */
const AGENT_FAILURE = Buffer.from([0, 0, 0, 1, 5]);

/**
 * Resolves each ID of the normalised `ssh` option to its agent socket (`true`: `SSH_AUTH_SOCK`
 * of `env`), connected to only when a RUN asks.
 * @throws InvalidArgumentError for an ID BuildKit cannot name, an unset `SSH_AUTH_SOCK`, or a
 *   path that is not a socket.
 */
export function resolveSshAgents(
  ssh: Readonly<Record<string, string | true>>,
  env: NodeJS.ProcessEnv,
): ReadonlyMap<string, string> {
  const agents = new Map<string, string>();
  for (const [id, value] of Object.entries(ssh)) {
    const name = `ssh[${JSON.stringify(id)}]`;
    if (id === "" || /[\0,=]/.test(id)) {
      throw new InvalidArgumentError(
        `ssh: ${JSON.stringify(id)} is not a usable ID; use the id of RUN --mount=type=ssh,id=<id> ("default" without one)`,
      );
    }
    const socket = value === true ? env.SSH_AUTH_SOCK : value;
    if (!socket) {
      throw new InvalidArgumentError(
        `${name} is true, which means the agent at SSH_AUTH_SOCK, but SSH_AUTH_SOCK is not set; start an agent (eval "$(ssh-agent)") or pass the socket's path`,
      );
    }
    let isSocket = false;
    try {
      isSocket = statSync(socket).isSocket();
    } catch (cause) {
      throw new InvalidArgumentError(`${name}: the agent socket ${socket} does not exist`, {
        cause,
      });
    }
    if (!isSocket) {
      throw new InvalidArgumentError(`${name}: ${socket} is not a socket (an SSH agent's)`);
    }
    agents.set(id, socket);
  }
  return agents;
}

/** The SSH service for the agents of {@link resolveSshAgents}. */
export function sshService(agents: ReadonlyMap<string, string>): SessionService {
  return defineService(SSHDefinition, {
    checkAgent: (call) => {
      const id = call.request.ID || DEFAULT_SSH_ID;
      if (agents.has(id)) {
        call.write({});
        call.end();
      } else {
        call.end({ code: GrpcStatus.NOT_FOUND, details: `unset ssh forward key ${id}` });
      }
    },
    forwardAgent: (call) => {
      let id: string;
      try {
        id = call.metadata.first(SSH_ID_KEY) || DEFAULT_SSH_ID;
      } catch (error) {
        call.end({ code: GrpcStatus.INVALID_ARGUMENT, details: (error as Error).message });
        return;
      }
      const path = agents.get(id);
      if (path === undefined) {
        call.end({ code: GrpcStatus.NOT_FOUND, details: `unset ssh forward key ${id}` });
        return;
      }
      forwardAgent(call, path, id);
    },
  });
}

/**
 * Passes agent requests from the call to the socket one at a time, each answer back before the
 * next request goes, so a refused request can be answered here without reordering answers.
 */
function forwardAgent(
  call: ServiceCall<BytesMessage, BytesMessage>,
  path: string,
  id: string,
): void {
  let requests = Buffer.alloc(0);
  let answers = Buffer.alloc(0);
  let waiting = false;
  let finished = false;
  const socket: Socket = connect(path);
  const timer = setTimeout(
    () => finish(new Error(`connecting to ${path} timed out`)),
    CONNECT_TIMEOUT_MS,
  );
  timer.unref();
  socket.once("connect", () => clearTimeout(timer));

  const finish = (error?: Error) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.destroy();
    if (error === undefined) return call.end();
    debug("ssh %j: %s", id, error.message);
    call.end({ code: GrpcStatus.UNAVAILABLE, details: `ssh agent ${id}: ${error.message}` });
  };
  const frame = (buffer: Buffer): number | undefined => {
    if (buffer.length < 4) return undefined;
    const length = buffer.readUInt32BE(0);
    if (length === 0 || length > MAX_AGENT_MESSAGE) {
      finish(new Error(`an agent message of ${length} bytes is not valid`));
      return undefined;
    }
    return buffer.length >= 4 + length ? 4 + length : undefined;
  };
  const pump = () => {
    while (!waiting && !finished) {
      const size = frame(requests);
      if (size === undefined) return;
      const request = requests.subarray(0, size);
      requests = requests.subarray(size);
      if (ALLOWED_REQUESTS.has(request[4] ?? 0)) {
        waiting = true;
        socket.write(request);
      } else {
        debug("ssh %j: refused agent request %d", id, request[4]);
        call.write({ data: AGENT_FAILURE });
      }
    }
  };

  call.listen((message) => {
    // A client waits for each answer; a few requests ahead are allowed, not an endless stream.
    if (requests.length + message.data.length > 4 * (4 + MAX_AGENT_MESSAGE)) {
      finish(new Error("the build sent too many agent requests without waiting for answers"));
      return;
    }
    requests = Buffer.concat([requests, message.data]);
    pump();
  }, finish);
  call.signal.addEventListener("abort", () => finish(), { once: true });
  socket.on("data", (chunk: Buffer) => {
    answers = Buffer.concat([answers, chunk]);
    for (;;) {
      const size = frame(answers);
      if (size === undefined) break;
      call.write({ data: answers.subarray(0, size) });
      answers = answers.subarray(size);
      waiting = false;
    }
    pump();
  });
  socket.on("error", finish);
  socket.on("close", () => finish());
}
