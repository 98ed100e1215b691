/**
 * Integration-test support for credentials and engines: pushes and builds sent with exactly the
 * headers the library computes (through the engine connection every operation uses), the authenticated test registry, a
 * registry of the test's own with several users, and a second dockerd reached over TCP+TLS.
 * Every process started here is stopped, and every folder removed, by the returned `stop()`.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { pack } from "tar-stream";
import { openEngine } from "../../../src/engine/engine-connection.js";

const run = promisify(execFile);
const HOW_TO_FIX =
  "run `bash scripts/test-services.sh` (as root) to install and start the test services";
const SERVICES_SCRIPT = path.resolve(import.meta.dirname, "../../../scripts/test-services.sh");

/** Debian's docker 20.10 client, which scripts/test-services.sh guarantees. */
export const DOCKER_CLI = "/usr/bin/docker";

/** A registry login. */
export interface Login {
  readonly username: string;
  readonly password: string;
}

/**
 * Settings of scripts/test-services.sh, read from the script itself (honouring the same PDU_*
 * overrides), so the tests use whatever ports and password the script set.
 */
async function servicesSettings(names: readonly string[]): Promise<string[]> {
  const { stdout } = await run("bash", [
    "-c",
    `eval "$(grep -E '^(${names.join("|")})=' "$1")"; printf '%s\\0' ${names.map((name) => `"$${name}"`).join(" ")}`,
    "bash",
    SERVICES_SCRIPT,
  ]);
  const values = stdout.split("\0").slice(0, names.length);
  if (values.length !== names.length || values.some((value) => !value)) {
    throw new Error(`Cannot read ${names.join(", ")} from ${SERVICES_SCRIPT}`);
  }
  return values;
}

/** The htpasswd registry of scripts/test-services.sh and its login. */
export async function authRegistry(): Promise<Login & { readonly host: string }> {
  const [port, username, password] = (await servicesSettings([
    "AUTH_REGISTRY_PORT",
    "AUTH_REGISTRY_USER",
    "AUTH_REGISTRY_PASSWORD",
  ])) as [string, string, string];
  return { host: `127.0.0.1:${port}`, username, password };
}

/**
 * The bearer-token registry of scripts/test-services.sh (Debian's docker-registry with `auth:
 * token`) and the login its token server accepts (the htpasswd registry's).
 */
export async function tokenRegistry(): Promise<Login & { readonly host: string }> {
  const [port, username, password] = (await servicesSettings([
    "TOKEN_REGISTRY_PORT",
    "AUTH_REGISTRY_USER",
    "AUTH_REGISTRY_PASSWORD",
  ])) as [string, string, string];
  return { host: `127.0.0.1:${port}`, username, password };
}

/** What the engine streamed, and the error it reported inside the stream, if any. */
export interface StreamResult {
  /** Every line's text (`stream`, `status`, `error`), joined. */
  readonly output: string;
  /** `error` of the stream's error message, when there was one. */
  readonly error: string | undefined;
  /** The pushed manifest digest (`aux.Digest`) or the built image ID (`aux.ID`). */
  readonly id: string | undefined;
}

async function readStream(response: NodeJS.ReadableStream): Promise<StreamResult> {
  let text = "";
  for await (const chunk of response) text += chunk.toString();
  let output = "";
  let error: string | undefined;
  let id: string | undefined;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const message = JSON.parse(line) as {
      stream?: string;
      status?: string;
      progress?: string;
      error?: string;
      errorDetail?: { message?: string };
      aux?: { ID?: string; Digest?: string };
    };
    if (message.stream) output += message.stream;
    if (message.status)
      output += `${message.status}${message.progress ? ` ${message.progress}` : ""}\n`;
    if (message.error !== undefined || message.errorDetail !== undefined) {
      error = message.error ?? message.errorDetail?.message ?? "";
      output += `${error}\n`;
    }
    id = message.aux?.Digest ?? message.aux?.ID ?? id;
  }
  return { output, error, id };
}

/** Pushes a local reference with the given `X-Registry-Auth` header value. */
export async function pushWith(
  docker: Docker,
  reference: string,
  authHeader: string,
): Promise<StreamResult> {
  const colon = reference.lastIndexOf(":");
  const response = await openEngine({ docker }).request({
    method: "POST",
    path: `/images/${encodeURIComponent(reference.slice(0, colon))}/push`,
    query: { tag: reference.slice(colon + 1) },
    headers: { "X-Registry-Auth": authHeader },
  });
  return readStream(response);
}

/** A tar archive of the given files, as a build context. */
export async function tarOf(files: Readonly<Record<string, string>>): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) archive.entry({ name }, content);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Builds `dockerfile` with the given `X-Registry-Config` header value (none when undefined). */
export async function buildWith(
  docker: Docker,
  dockerfile: string,
  options: {
    registryConfig: string | undefined;
    labels: Readonly<Record<string, string>>;
    pull?: boolean;
  },
): Promise<StreamResult> {
  const { Readable } = await import("node:stream");
  const response = await openEngine({ docker }).request({
    method: "POST",
    path: "/build",
    query: { labels: options.labels, rm: true, forcerm: true, pull: options.pull ? 1 : undefined },
    body: Readable.from([await tarOf({ Dockerfile: dockerfile })]),
    headers: {
      "Content-Type": "application/x-tar",
      ...(options.registryConfig ? { "X-Registry-Config": options.registryConfig } : {}),
    },
  });
  return readStream(response);
}

/** Deletes a manifest from a registry (the registries run with `delete: enabled`). */
export async function deleteManifest(
  host: string,
  repository: string,
  digest: string,
  login?: Login,
): Promise<void> {
  const headers: Record<string, string> = {};
  if (login) {
    headers.Authorization = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;
  }
  await fetch(`http://${host}/v2/${repository}/manifests/${digest}`, {
    method: "DELETE",
    headers,
  }).catch(() => undefined);
}

/** The digest a registry holds for `repository:tag`, asked with basic auth; undefined when none. */
export async function registryDigest(
  host: string,
  repository: string,
  tag: string,
  login: Login,
): Promise<string | undefined> {
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: {
      Authorization: `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`,
      Accept: "application/vnd.docker.distribution.manifest.v2+json",
    },
  });
  return response.ok ? (response.headers.get("docker-content-digest") ?? undefined) : undefined;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; the tiny race is acceptable for tests). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  logFile: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const log = await readFile(logFile, "utf8").catch(() => "");
  throw new Error(
    `${what} did not come up within ${timeoutMs} ms; its log ends:\n${log.slice(-2000)}`,
  );
}

/** A running process of the test's own, stopped by its pid. */
async function stopProcess(pid: number | undefined, exited: Promise<unknown>): Promise<void> {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 20_000);
  await exited;
  clearTimeout(timer);
}

/** A registry of the test's own on 127.0.0.1, with htpasswd users. */
export interface TestRegistry {
  readonly host: string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's docker-registry on a free loopback port with the users `usersFor(host)` gives
 * (bcrypt htpasswd); the host is known first so passwords can be made for the exact login JSON.
 */
export async function startRegistry(
  usersFor: (host: string) => readonly Login[],
): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), "pdu-registry-"));
  const htpasswd = path.join(dir, "htpasswd");
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  try {
    await writeFile(htpasswd, "");
    for (const user of usersFor(host)) {
      // htpasswd reads the password from argv here: no shell is involved, so no quoting issue.
      await run("htpasswd", ["-bB", htpasswd, user.username, user.password]).catch(
        (error: Error) => {
          throw new Error(`htpasswd failed (${error.message}); ${HOW_TO_FIX}`);
        },
      );
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  await mkdir(path.join(dir, "storage"));
  await writeFile(
    path.join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/storage\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\nauth:\n  htpasswd:\n    realm: pdu-credentials-test\n    path: ${htpasswd}\n`,
  );
  const logFile = path.join(dir, "registry.log");
  const { openSync, closeSync } = await import("node:fs");
  const log = openSync(logFile, "a");
  const child = spawn("docker-registry", ["serve", path.join(dir, "config.yml")], {
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (error) =>
      reject(new Error(`Cannot start docker-registry (${error.message}); ${HOW_TO_FIX}`)),
    ),
  );
  const stop = async () => {
    await stopProcess(child.exitCode === null ? child.pid : undefined, exited);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      spawnError,
      waitFor(
        `docker-registry on ${host}`,
        async () => (await fetch(`http://${host}/v2/`)).status === 401,
        logFile,
      ),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host, stop };
}

/** A second dockerd, reachable over TCP+TLS on 127.0.0.1 (and over its own unix socket). */
export interface TlsEngine {
  readonly port: number;
  /** Its --data-root, which `docker info` reports as DockerRootDir: proof of which engine answered. */
  readonly dataRoot: string;
  stop(): Promise<void>;
}

/**
 * Starts a second dockerd with its own data root, exec root, pid file and unix socket, listening on
 * tcp://127.0.0.1:<free port> with --tlsverify (client certificates required), without bridge or
 * iptables, so it creates no network.
 */
export async function startTlsEngine(certs: {
  caCert: string;
  serverCert: string;
  serverKey: string;
}): Promise<TlsEngine> {
  // Short paths: containerd's sockets under --exec-root must fit a sockaddr_un.
  const dir = await mkdtemp(path.join("/tmp", "pdu-d-"));
  const dataRoot = path.join(dir, "data");
  const execRoot = path.join(dir, "x");
  await mkdir(dataRoot);
  await mkdir(execRoot);
  await writeFile(path.join(dir, "daemon.json"), "{}");
  const port = await freePort();
  const logFile = path.join(dir, "dockerd.log");
  const { openSync, closeSync } = await import("node:fs");
  const log = openSync(logFile, "a");
  const child = spawn(
    "dockerd",
    [
      "--config-file",
      path.join(dir, "daemon.json"),
      "--data-root",
      dataRoot,
      "--exec-root",
      execRoot,
      "--pidfile",
      path.join(dir, "docker.pid"),
      "-H",
      `unix://${path.join(dir, "docker.sock")}`,
      "-H",
      `tcp://127.0.0.1:${port}`,
      "--tlsverify",
      "--tlscacert",
      certs.caCert,
      "--tlscert",
      certs.serverCert,
      "--tlskey",
      certs.serverKey,
      "--bridge=none",
      "--iptables=false",
      "--ip6tables=false",
    ],
    { stdio: ["ignore", log, log] },
  );
  closeSync(log);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (error) =>
      reject(new Error(`Cannot start dockerd (${error.message}); ${HOW_TO_FIX}`)),
    ),
  );
  const stop = async () => {
    await stopProcess(child.exitCode === null ? child.pid : undefined, exited);
    await rm(dir, { recursive: true, force: true });
  };
  let ready = false;
  try {
    await Promise.race([
      spawnError,
      exited.then(async () => {
        if (ready) return;
        throw new Error(
          `dockerd exited early; its log ends:\n${(await readFile(logFile, "utf8")).slice(-2000)}`,
        );
      }),
      waitFor(
        "the TLS dockerd",
        async () => {
          await run(DOCKER_CLI, ["-H", `unix://${path.join(dir, "docker.sock")}`, "version"]);
          return true;
        },
        logFile,
      ),
    ]);
    ready = true;
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, dataRoot, stop };
}

/** Runs Debian's docker client with the given environment and stdin. */
export async function dockerCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER_CLI, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`docker ${args[0]} exited with ${code}: ${err.trim()}`)),
    );
    child.stdin.end(input ?? "");
  });
}
