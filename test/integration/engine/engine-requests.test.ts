// Issue 12: a caller's string never reaches another engine endpoint, and a redirect from the
// engine is never followed. A logging proxy sits in front of the real engine and records every
// request that leaves the library; the redirects are the real engine's own (the proxy changes
// the path so that the engine answers 301, since no path this library sends can provoke one).
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { dockerClient } from "../../../src/dockerode.js";
import { openEngine } from "../../../src/engine/engine-connection.js";
import { enginePath } from "../../../src/engine/engine-path.js";
import { EngineHttpError, InvalidArgumentError, PushError, pushImage } from "../../../src/index.js";
import { HOSTILE_IMAGE_IDS } from "../../support/hostile-ids.js";
import { LoggingProxy } from "../logging-proxy.js";
import { docker, REGISTRY_URL, testRepository } from "../support.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const canaryLabel = `io.prefect-dockerutils.engine-canary=${randomUUID()}`;
let canaryId: string;
let busyboxId: string;
let socketDir: string;

beforeAll(async () => {
  socketDir = await mkdtemp(path.join(tmpdir(), "pdu-proxy-"));
  busyboxId = (await docker.getImage("busybox:latest").inspect()).Id;
  // A stopped container that `POST /containers/prune` with its label would delete.
  const [key, value] = canaryLabel.split("=") as [string, string];
  const container = await docker.createContainer({
    Image: "busybox:latest",
    Labels: { [key]: value, "io.prefect-dockerutils.test-run": inject("testRun") },
    HostConfig: { NetworkMode: "none" },
  });
  canaryId = container.id;
});

afterAll(async () => {
  await docker
    .getContainer(canaryId)
    .remove({ force: true })
    .catch(() => undefined);
  await rm(socketDir, { recursive: true, force: true });
});

/** The image IDs that once escaped, aimed at this file's canary container, plus the rest. */
function hostileIds(): string[] {
  const filters = encodeURIComponent(JSON.stringify({ label: [canaryLabel] }));
  return [
    `../../containers/prune?filters=${filters}&`,
    `../../containers/${canaryId}?force=1&`,
    ...HOSTILE_IMAGE_IDS,
  ];
}

async function canaryExists(): Promise<boolean> {
  return docker
    .getContainer(canaryId)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

/** Path and query of an expected request, in a form that cannot hold a dot segment. */
const EXPECTED_PATH = /^\/(_ping|images\/[A-Za-z0-9%._-]+(\/tag|\/push|\/json)?)(\?[^#]*)?$/;

describe("hostile image IDs through a logging proxy in front of the engine", () => {
  it("make pushImage send no request at all, and the canary container survives", async () => {
    await using proxy = await LoggingProxy.start();
    const env = { DOCKER_HOST: proxy.dockerHost };
    for (const id of hostileIds()) {
      const error = await pushImage(id, REGISTRY_URL, "pdu-hostile", { env }).catch(
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(id.slice(0, 80))).toBeInstanceOf(InvalidArgumentError);
    }
    expect(proxy.requests).toEqual([]);
    expect(await canaryExists()).toBe(true);

    // The proxy does see what a push sends, and that stays on its paths.
    const repository = testRepository("engine-requests");
    const reference = await pushImage(busyboxId, REGISTRY_URL, repository, {
      env,
      tag: randomUUID(),
    });
    expect(reference.startsWith(`127.0.0.1:5555/${repository}:`)).toBe(true);
    // The ping, what the registry reference named before, the tag, the push, then the image's
    // names and the removal of the registry tag (busybox keeps its own name).
    expect(proxy.requests.map((request) => request.method)).toEqual([
      "GET",
      "GET",
      "POST",
      "POST",
      "GET",
      "DELETE",
    ]);
    for (const request of proxy.requests) expect(request.url).toMatch(EXPECTED_PATH);
  });

  it("keep the library's dockerode client on the image's own path", async () => {
    await using proxy = await LoggingProxy.start();
    const client = dockerClient({ env: { DOCKER_HOST: proxy.dockerHost } });
    for (const id of hostileIds()) {
      await client
        .getImage(id)
        .tag({ repo: "localhost/pdu-hostile", tag: "x" })
        .catch(() => undefined);
    }
    expect(await canaryExists()).toBe(true);
    for (const request of proxy.requests) {
      expect(request.method).toBe("POST");
      const pathPart = request.url.split("?")[0] ?? "";
      expect(pathPart.startsWith("/images/")).toBe(true);
      expect(decodeURIComponent(pathPart).split("/")).not.toContain("..");
    }
  });

  it("never reach the engine through the connection either", async () => {
    await using proxy = await LoggingProxy.start();
    const engine = openEngine({ env: { DOCKER_HOST: proxy.dockerHost } });
    for (const id of hostileIds()) {
      const error = await (async () =>
        engine.requestJson({ method: "GET", path: enginePath`/images/${id}/json` }))().catch(
        (e: unknown) => e,
      );
      // Encoded, a hostile ID is one segment the engine answers about (400 or 404), or it is
      // refused before sending.
      if (error instanceof EngineHttpError) expect([400, 404]).toContain(error.statusCode);
      else expect(error, JSON.stringify(id.slice(0, 80))).toBeInstanceOf(InvalidArgumentError);
    }
    for (const request of proxy.requests) {
      expect(request.url).toMatch(/^\/images\/[^/?#]+\/json$/);
      expect(decodeURIComponent(request.url).split("/")).not.toContain("..");
    }
    expect(await canaryExists()).toBe(true);
  });
});

/** A listener that counts the connections it gets: where a followed redirect would go. */
async function canaryListener(): Promise<
  { port: number; connections: () => number } & AsyncDisposable
> {
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A proxy on a unix socket that makes the engine redirect tag requests to `/127.0.0.1:<port>/x`. */
function redirectingProxy(port: number): Promise<LoggingProxy> {
  return LoggingProxy.start({
    socketPath: path.join(socketDir, `${randomUUID()}.sock`),
    // The engine cleans this path and answers 301 with `Location: /127.0.0.1:<port>/x/tag`, which
    // a client that resolves it against `http:` (as docker-modem does on a socket) reads as the
    // host 127.0.0.1:<port>.
    rewrite: (_method, url) =>
      /^\/images\/[^?]*\/tag(\?|$)/.test(url) ? `/..//127.0.0.1:${port}/x/tag` : url,
  });
}

function runChild(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "test/support/engine/redirect-run.ts")],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("a redirect from the engine", () => {
  it("fails the request with its status and is never followed", async () => {
    await using canary = await canaryListener();
    await using proxy = await redirectingProxy(canary.port);
    const error = await pushImage(busyboxId, REGISTRY_URL, "pdu-redirect", {
      env: { DOCKER_HOST: proxy.dockerHost },
      retries: 0,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).statusCode).toBe(301);
    expect((error as PushError).cause).toBeInstanceOf(EngineHttpError);
    expect((error as Error).message).toContain("redirects from the engine are never followed");

    const client = dockerClient({ env: { DOCKER_HOST: proxy.dockerHost } });
    const dockerodeError = await client
      .getImage(busyboxId)
      .tag({ repo: "localhost/pdu-redirect", tag: "x" })
      .catch((e: unknown) => e);
    expect(dockerodeError).toBeInstanceOf(EngineHttpError);
    expect((dockerodeError as EngineHttpError).statusCode).toBe(301);

    // The push's ping, its look at what the registry reference names and its tag, then
    // dockerode's tag: nothing that followed a Location.
    const urls = proxy.requests.map((request) => request.url.split("?")[0]);
    expect(urls).toEqual([
      "/_ping",
      expect.any(String),
      `/images/${encodeURIComponent(busyboxId)}/tag`,
      `/images/${busyboxId}/tag`,
    ]);
    expect(decodeURIComponent(urls[1] ?? "")).toMatch(
      /^\/images\/127\.0\.0\.1:5555\/pdu-redirect:[a-z0-9-]+\/json$/,
    );
    expect(canary.connections()).toBe(0);
  });

  it.each([
    ["to a host that listens", true],
    ["to a host that does not answer", false],
  ])("%s leaves a process that exits cleanly, with no second request", async (_case, listens) => {
    await using canary = await canaryListener();
    await using proxy = await redirectingProxy(listens ? canary.port : 1);
    const { code, output } = await runChild({
      DOCKER_HOST: proxy.dockerHost,
      PDU_IMAGE: busyboxId,
      PDU_REGISTRY_URL: REGISTRY_URL,
    });
    expect(code, output).toBe(0);
    expect(output).toMatch(/^push rejected: PushError 301: .*never followed/m);
    expect(output).toMatch(/^dockerode rejected: EngineHttpError 301: .*never followed/m);
    expect(output).toMatch(/^done$/m);
    expect(proxy.requests.filter((request) => /\/tag(\?|$)/.test(request.url))).toHaveLength(2);
    expect(canary.connections()).toBe(0);
  });
});

describe("upgrade", () => {
  it("hands over the engine's h2c session channel, where the engine speaks HTTP/2 first", async () => {
    const engine = openEngine({ env: { DOCKER_HOST: "unix:///var/run/docker.sock" } });
    const socket = await engine.upgrade({
      path: "/session",
      protocol: "h2c",
      headers: {
        "X-Docker-Expose-Session-Uuid": randomUUID(),
        "X-Docker-Expose-Session-Name": "pdu-engine-test",
        "X-Docker-Expose-Session-Sharedkey": randomUUID(),
      },
    });
    try {
      const preface = await new Promise<string>((resolve, reject) => {
        let received = Buffer.alloc(0);
        const timer = setTimeout(() => reject(new Error("no HTTP/2 preface within 10 s")), 10_000);
        socket.on("data", (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
          if (received.length >= 24) {
            clearTimeout(timer);
            resolve(received.subarray(0, 24).toString("latin1"));
          }
        });
        socket.once("error", reject);
      });
      expect(preface).toBe("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    } finally {
      socket.destroy();
    }
  });

  it("rejects with the engine's answer when it does not switch protocols", async () => {
    const engine = openEngine({ env: { DOCKER_HOST: "unix:///var/run/docker.sock" } });
    const error = await engine
      .upgrade({ path: "/pdu-no-such-endpoint", protocol: "h2c" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineHttpError);
    expect((error as EngineHttpError).statusCode).toBe(404);
  });

  it("rejects with the signal's reason when cancelled", async () => {
    const engine = openEngine({ env: { DOCKER_HOST: "unix:///var/run/docker.sock" } });
    const reason = new Error("stop");
    await expect(
      engine.upgrade({ path: "/session", protocol: "h2c", signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });
});
