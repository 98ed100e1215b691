import { InvalidArgumentError } from "../errors.js";
import { controlCharacter } from "../validate.js";

/** Where an `ssh://` URL points. */
export interface SshDestination {
  readonly user: string | undefined;
  /** A name (perhaps a `Host` alias of `~/.ssh/config`) or an address. */
  readonly host: string;
  readonly port: string | undefined;
  /** The engine's socket on the remote host: the URL's path (`ssh://me@host/run/docker.sock`). */
  readonly socketPath: string | undefined;
}

/** The remote shell reads the socket path (ssh joins its arguments): no special characters. */
const SAFE_REMOTE_PATH = /^\/[A-Za-z0-9._/-]*$/;

/**
 * Reads an `ssh://[user@]host[:port][/socket]` engine address as the docker CLI does
 * (`cli/connhelper`): no password (keys come from ssh's config and agent), query or fragment.
 *
 * @param where - the address's origin and redacted form for messages, e.g.
 *   `DOCKER_HOST names the engine "ssh://me:***@host"`.
 * @throws InvalidArgumentError naming `where`, never the password.
 */
export function parseSshUrl(url: string, where: string): SshDestination {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Without the cause: Node's URL error carries the whole address as `input`.
    throw new InvalidArgumentError(
      `${where}, which is not a valid ssh:// address; use ssh://user@host or ssh://user@host:port`,
    );
  }
  if (parsed.protocol !== "ssh:") {
    throw new InvalidArgumentError(`${where}, which is not an ssh:// address`);
  }
  if (parsed.password !== "") {
    throw new InvalidArgumentError(
      `${where}, with a password: plain-text passwords are not supported (nor by the docker CLI); remove it and let ssh authenticate with a key, from ~/.ssh/config or the agent (SSH_AUTH_SOCK)`,
    );
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new InvalidArgumentError(
      `${where}, with a query or fragment, which ssh:// addresses cannot have; use ssh://user@host:port`,
    );
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") {
    throw new InvalidArgumentError(`${where}, which names no host; use ssh://user@host`);
  }
  let user: string | undefined;
  let path: string;
  try {
    user = parsed.username === "" ? undefined : decodeURIComponent(parsed.username);
    path = decodeURIComponent(parsed.pathname);
  } catch (cause) {
    throw new InvalidArgumentError(`${where}, in which a %-escape is broken`, { cause });
  }
  if (user !== undefined && controlCharacter(user) !== undefined) {
    throw new InvalidArgumentError(`${where}, whose user name holds control characters`);
  }
  let socketPath: string | undefined;
  if (path.replaceAll("/", "") !== "") {
    if (!SAFE_REMOTE_PATH.test(path)) {
      throw new InvalidArgumentError(
        `${where}, whose socket path holds characters other than letters, digits, ".", "_", "-" and "/"; the remote shell would read them`,
      );
    }
    socketPath = path;
  }
  return { user, host, port: parsed.port === "" ? undefined : parsed.port, socketPath };
}

/**
 * The arguments of `ssh ... docker system dial-stdio`, in the docker CLI's order; `--` keeps a
 * host from ever being read as an option.
 */
export function sshArguments(destination: SshDestination): string[] {
  const remote = destination.socketPath
    ? ["docker", `--host=unix://${destination.socketPath}`, "system", "dial-stdio"]
    : ["docker", "system", "dial-stdio"];
  return [
    "-o",
    "ConnectTimeout=30",
    "-T",
    ...(destination.user === undefined ? [] : ["-l", destination.user]),
    ...(destination.port === undefined ? [] : ["-p", destination.port]),
    "--",
    destination.host,
    ...remote,
  ];
}
