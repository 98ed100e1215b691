// dockerClient() (prefect-dockerutils/dockerode): dockerode with the library's connections, checked
// on the wire, against a local HTTP server standing in for the engine (the real engine's answers
// are checked in test/integration/engine/engine-requests.test.ts and auth/credentials.test.ts).
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { dockerClient } from "../../src/engine/docker-client.js";
import { EngineHttpError, EngineUnreachableError, InvalidArgumentError } from "../../src/errors.js";

interface FakeEngine {
  readonly host: string;
  readonly requests: { method: string; url: string; headers: IncomingMessage["headers"] }[];
  connections: number;
  server: Server;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** An HTTP server on loopback answering every request with `answer`. */
async function fakeEngine(
  answer: (request: IncomingMessage) => { status: number; headers?: Record<string, string> },
): Promise<FakeEngine> {
  const engine = { requests: [], connections: 0 } as unknown as FakeEngine;
  const server = createServer((request, response) => {
    engine.requests.push({
      method: request.method ?? "",
      url: request.url ?? "",
      headers: request.headers,
    });
    request.resume();
    request.on("end", () => {
      const { status, headers } = answer(request);
      response.writeHead(status, { "Content-Type": "application/json", ...headers });
      response.end(status >= 400 ? '{"message":"no"}' : "{}");
    });
  });
  server.on("connection", (_socket: Socket) => {
    engine.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  engine.server = server;
  (engine as { host: string }).host = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return engine;
}

describe("dockerClient()", () => {
  it("talks to the engine DOCKER_HOST names, through its own connections", async () => {
    const engine = await fakeEngine(() => ({ status: 200 }));
    const docker = dockerClient({ env: { DOCKER_HOST: engine.host } });
    await docker.getImage("busybox").inspect();
    expect(engine.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET /images/busybox/json",
    ]);
  });

  it.each([
    ["../../containers/prune?", "a dot segment"],
    ["../containers/json#", "a dot segment that docker-modem would resolve away on a host"],
    ["x?force=1#", "a second query marker"],
  ])("refuses the steered name %j (%s) before connecting, on a TCP engine", async (name) => {
    const engine = await fakeEngine(() => ({ status: 200 }));
    const docker = dockerClient({ env: { DOCKER_HOST: engine.host } });
    await expect(docker.getImage(name).inspect()).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(engine.connections).toBe(0);
  });

  it("never sends a name with a control character (Node's own check refuses it first)", async () => {
    const engine = await fakeEngine(() => ({ status: 200 }));
    const docker = dockerClient({ env: { DOCKER_HOST: engine.host } });
    await expect(docker.getImage("a\u0001b").inspect()).rejects.toMatchObject({
      code: "ERR_UNESCAPED_CHARACTERS",
    });
    expect(engine.connections).toBe(0);
  });

  it("fails a redirect with its status and never follows it", async () => {
    const target = await fakeEngine(() => ({ status: 200 }));
    const engine = await fakeEngine(() => ({
      status: 301,
      headers: { Location: `${target.host.replace("tcp:", "http:")}/images/x/json` },
    }));
    const docker = dockerClient({ env: { DOCKER_HOST: engine.host } });
    const error = await docker
      .getImage("busybox")
      .inspect()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineHttpError);
    expect((error as EngineHttpError).statusCode).toBe(301);
    expect((error as Error).message).toContain("redirects from the engine are never followed");
    expect(engine.requests).toHaveLength(1);
    expect(target.connections).toBe(0);
  });

  it("sends dockerode's registryconfig as URL-safe base64, which the engine decodes", async () => {
    const engine = await fakeEngine(() => ({ status: 200 }));
    const docker = dockerClient({ env: { DOCKER_HOST: engine.host } });
    // A login whose standard base64 holds "+" and "/", what docker-modem gets wrong.
    const registryconfig = { "127.0.0.1:5556": { username: "u", password: "p+a/s=s\"w'ö€rd?>>>" } };
    expect(Buffer.from(JSON.stringify(registryconfig)).toString("base64")).toMatch(/[+/]/);
    const stream = await docker.buildImage(Readable.from([Buffer.alloc(1024)]), {
      registryconfig,
    } as never);
    (stream as unknown as Readable).resume();
    const header = String(engine.requests[0]?.headers["x-registry-config"]);
    expect(header).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(JSON.parse(Buffer.from(header, "base64url").toString("utf8"))).toEqual(registryconfig);
  });

  it("names the endpoint when nothing listens", async () => {
    const docker = dockerClient({ env: { DOCKER_HOST: "tcp://127.0.0.1:1" } });
    const error = await docker.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as Error).message).toContain("tcp://127.0.0.1:1 (from DOCKER_HOST)");
  });
});
