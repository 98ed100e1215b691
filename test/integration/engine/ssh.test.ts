// ssh:// engines the docker CLI's way, end to end: the system ssh (found on PATH, here a wrapper
// that adds `-F <the services script's ssh_config>`, since OpenSSH reads ~/.ssh from the passwd
// entry, not $HOME) runs `docker system dial-stdio` on a real sshd (127.0.0.1:2222, root by key)
// in front of the same engine. Builds (classic and BuildKit, whose session rides the same kind of
// connection), a push to the open registry, the ways ssh fails, and no ssh left running.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { dockerClient } from "../../../src/dockerode.js";
import { openEngine } from "../../../src/engine/engine-connection.js";
import {
  buildImage,
  checkEngine,
  EngineUnreachableError,
  pushImage,
  tagImage,
} from "../../../src/index.js";
import { contextWith, recorder } from "../buildkit-helpers.js";
import { OPEN_REGISTRY, tagsOf } from "../registries.js";
import {
  contexts,
  docker,
  IMAGE_ID_PATTERN,
  REGISTRY_URL,
  runImage,
  testRepository,
  uniqueTag,
} from "../support.js";

const run = promisify(execFile);
const SSH_STATE = inject("sshState");
const ENGINE = "ssh://root@127.0.0.1:2222";

/**
 * A folder to put first on PATH holding an `ssh` that runs the real one with the test config and
 * notes the pid of every ssh it starts (it execs, so the pid is ssh's), removed after the test.
 */
async function sshOnPath(): Promise<{ env: NodeJS.ProcessEnv; pids: () => Promise<number[]> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "pdu-ssh-path-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, "pids");
  await writeFile(pidFile, "");
  await writeFile(
    path.join(dir, "ssh"),
    `#!/bin/sh\necho $$ >> '${pidFile}'\nexec /usr/bin/ssh -F '${SSH_STATE}/ssh_config' "$@"\n`,
  );
  await chmod(path.join(dir, "ssh"), 0o755);
  return {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}` },
    pids: async () =>
      (await readFile(pidFile, "utf8"))
        .split("\n")
        .filter(Boolean)
        .map((line) => Number(line)),
  };
}

/** Whether a process group (an ssh and whatever it started) still has a member. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until none of the ssh process groups is left. */
async function expectNoSshLeft(pids: number[], withinMs = 5_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (pids.some(groupAlive) && Date.now() < deadline) await sleep(50);
  expect(pids.filter(groupAlive)).toEqual([]);
}

describe("an ssh:// engine", () => {
  it("answers a ping through ssh and docker system dial-stdio, one ssh per request", async () => {
    const ssh = await sshOnPath();
    const engine = openEngine({ env: { ...ssh.env, DOCKER_HOST: ENGINE } });
    const endpoint = await engine.ping();
    expect(endpoint).toMatchObject({ url: ENGINE, source: "DOCKER_HOST" });
    const info = (await engine.requestJson({ method: "GET", path: "/info" })) as { ID: string };
    const local = await docker.info();
    expect(info.ID).toBe(local.ID);
    const pids = await ssh.pids();
    expect(pids).toHaveLength(2);
    await expectNoSshLeft(pids);
  });

  it("is the engine the docker CLI reaches over the same ssh", async () => {
    const ssh = await sshOnPath();
    const { stdout } = await run("/usr/bin/docker", ["-H", ENGINE, "info", "--format", "{{.ID}}"], {
      env: ssh.env,
      timeout: 60_000,
    });
    const info = (await openEngine({ env: { ...ssh.env, DOCKER_HOST: ENGINE } }).requestJson({
      method: "GET",
      path: "/info",
    })) as { ID: string };
    expect(stdout.trim()).toBe(info.ID);
  });

  it("builds with the classic builder", async () => {
    const ssh = await sshOnPath();
    const tag = uniqueTag("localhost/pdu-ssh");
    const imageId = await buildImage(path.join(contexts, "tiny"), {
      builder: "classic",
      tag,
      env: { ...ssh.env, DOCKER_HOST: ENGINE },
    });
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect((await docker.getImage(tag).inspect()).Id).toBe(imageId);
    expect(await runImage(imageId)).toBe("Can't bear oceans.\n");
    await expectNoSshLeft(await ssh.pids());
  });

  it("builds with BuildKit, its session and file sync over ssh", async () => {
    const ssh = await sshOnPath();
    const tag = uniqueTag("localhost/pdu-ssh");
    const dir = await contextWith({
      Dockerfile: 'FROM busybox:latest\nCOPY data.txt /data.txt\nCMD ["cat", "/data.txt"]\n',
      "data.txt": `sent over ssh ${Date.now()}\n`,
    });
    const events = recorder();
    const imageId = await buildImage(dir, {
      builder: "buildkit",
      networkMode: "none",
      tag,
      env: { ...ssh.env, DOCKER_HOST: ENGINE },
      onProgress: events.onProgress,
    });
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect(events.events.some((event) => event.type === "context-sync")).toBe(true);
    expect(await runImage(imageId)).toBe(await readFile(path.join(dir, "data.txt"), "utf8"));
    await expectNoSshLeft(await ssh.pids());
  });

  it("pushes to the registry, and tags through the same engine", async () => {
    const ssh = await sshOnPath();
    const env = { ...ssh.env, DOCKER_HOST: ENGINE };
    const repository = testRepository("pdu-ssh-push");
    const source = uniqueTag("localhost/pdu-ssh");
    const imageId = await buildImage(path.join(contexts, "tiny"), { tag: source, env });
    const extra = uniqueTag("localhost/pdu-ssh-extra");
    await tagImage(imageId, extra, { env });
    expect((await docker.getImage(extra).inspect()).Id).toBe(imageId);
    const reference = await pushImage(imageId, REGISTRY_URL, repository, { tag: "v1", env });
    expect(reference).toBe(`127.0.0.1:5555/${repository}:v1`);
    expect(await tagsOf({ host: OPEN_REGISTRY }, repository)).toEqual(["v1"]);
    await expectNoSshLeft(await ssh.pids());
  });

  it("serves dockerode through the same ssh with dockerClient()", async () => {
    const ssh = await sshOnPath();
    const client = dockerClient({ env: { ...ssh.env, DOCKER_HOST: ENGINE } });
    expect((await client.info()).ID).toBe((await docker.info()).ID);
    await expectNoSshLeft(await ssh.pids());
  });

  it("authenticates with a key that only the agent at SSH_AUTH_SOCK holds", async () => {
    const ssh = await sshOnPath();
    const folder = await mkdtemp(path.join(tmpdir(), "pdu-ssh-agent-"));
    const socket = path.join(folder, "agent.sock");
    const agent: ChildProcess = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    onTestFinished(async () => {
      agent.kill();
      await rm(folder, { recursive: true, force: true });
    });
    const agentEnv = { ...ssh.env, SSH_AUTH_SOCK: socket };
    for (let tries = 0; ; tries++) {
      const status = await run("ssh-add", ["-l"], { env: agentEnv }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? 2,
      );
      if (status === 1) break;
      if (tries > 100) throw new Error(`ssh-agent did not come up at ${socket}`);
      await sleep(50);
    }
    const engine = { DOCKER_HOST: "ssh://root@pdu-agent" };
    // Without the key in the agent, the alias has no key sshd accepts.
    await expect(openEngine({ env: { ...agentEnv, ...engine } }).ping()).rejects.toThrow(
      "Permission denied (publickey)",
    );
    await run("ssh-add", [path.join(SSH_STATE, "client_key")], { env: agentEnv });
    await expect(openEngine({ env: { ...agentEnv, ...engine } }).ping()).resolves.toMatchObject({
      url: "ssh://root@pdu-agent",
    });
  });
});

describe("an ssh:// engine that cannot be reached", () => {
  it.each([
    [
      "a key sshd refuses",
      "ssh://root@pdu-refused",
      "ssh exited with status 255: root@127.0.0.1: Permission denied (publickey).",
    ],
    ["an unknown host key", "ssh://root@pdu-unknown", "Host key verification failed."],
    [
      "a remote host without docker",
      "ssh://root@pdu-nodocker",
      "docker: command not found\n(is Docker 18.09 or later installed on the remote host",
    ],
    ["nothing listening", "ssh://root@127.0.0.1:1", "Connection refused"],
  ])(
    "fails with EngineUnreachableError for %s, naming the host and ssh's words",
    async (_case, host, words) => {
      const ssh = await sshOnPath();
      const started = Date.now();
      const error = await openEngine({ env: { ...ssh.env, DOCKER_HOST: host } })
        .ping()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineUnreachableError);
      expect((error as EngineUnreachableError).endpoint).toBe(host);
      const message = (error as Error).message;
      expect(message).toContain(
        `Cannot reach the Docker engine at ${host} (from DOCKER_HOST): ssh `,
      );
      expect(message).toContain(words);
      expect(Date.now() - started).toBeLessThan(10_000);
      await expectNoSshLeft(await ssh.pids());
    },
  );

  it("fails the same way through checkEngine and a build", async () => {
    const ssh = await sshOnPath();
    const env = { ...ssh.env, DOCKER_HOST: "ssh://root@pdu-refused" };
    const checked = await checkEngine({ docker: dockerClient({ env }) }).catch((e: unknown) => e);
    expect(checked).toBeInstanceOf(EngineUnreachableError);
    expect((checked as Error).message).toContain("Permission denied (publickey)");
    const built = await buildImage(path.join(contexts, "tiny"), { env, retries: 0 }).catch(
      (e: unknown) => e,
    );
    expect(built).toBeInstanceOf(EngineUnreachableError);
    expect((built as Error).message).toContain("ssh://root@pdu-refused (from DOCKER_HOST)");
    await expectNoSshLeft(await ssh.pids());
  });

  it("fails when ssh is not on PATH", async () => {
    const empty = await mkdtemp(path.join(tmpdir(), "pdu-no-ssh-"));
    onTestFinished(() => rm(empty, { recursive: true, force: true }));
    const error = await openEngine({ env: { PATH: empty, DOCKER_HOST: ENGINE } })
      .ping()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as Error).message).toContain(
      `${ENGINE} (from DOCKER_HOST): ssh was not found on PATH`,
    );
  });

  it("kills a hanging ssh, and what it started, when the ping times out", async () => {
    // pdu-hang's ProxyCommand never connects: ssh waits for it forever.
    const ssh = await sshOnPath();
    const started = Date.now();
    const error = await openEngine({ env: { ...ssh.env, DOCKER_HOST: "ssh://root@pdu-hang" } })
      .ping({ timeoutMs: 1_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as Error).message).toBe(
      "Cannot reach the Docker engine at ssh://root@pdu-hang (from DOCKER_HOST): no answer within 1000 ms",
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    const pids = await ssh.pids();
    expect(pids).toHaveLength(1);
    await expectNoSshLeft(pids);
  });

  it("kills the ssh of a cancelled ping, which rejects with the signal's reason", async () => {
    const ssh = await sshOnPath();
    const controller = new AbortController();
    const reason = new Error("cancelled by the test");
    setTimeout(() => controller.abort(reason), 500);
    await expect(
      openEngine({ env: { ...ssh.env, DOCKER_HOST: "ssh://root@pdu-hang" } }).ping({
        signal: controller.signal,
        timeoutMs: 60_000,
      }),
    ).rejects.toBe(reason);
    await expectNoSshLeft(await ssh.pids());
  });

  it("kills every ssh of a BuildKit build that is cancelled mid-RUN", async () => {
    const ssh = await sshOnPath();
    const dir = await contextWith({
      Dockerfile: `FROM busybox:latest\nRUN echo ${Date.now()} && sleep 60\n`,
    });
    const controller = new AbortController();
    const reason = new Error("cancelled by the test");
    const events = recorder();
    const build = buildImage(dir, {
      builder: "buildkit",
      networkMode: "none",
      env: { ...ssh.env, DOCKER_HOST: ENGINE },
      signal: controller.signal,
      onProgress: (event) => {
        events.onProgress(event);
        if (event.type === "vertex" && /sleep 60/.test(event.name) && event.state === "started") {
          controller.abort(reason);
        }
      },
    });
    const started = Date.now();
    await expect(build).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(60_000);
    const pids = await ssh.pids();
    expect(pids.length).toBeGreaterThanOrEqual(2);
    await expectNoSshLeft(pids);
  });
});
