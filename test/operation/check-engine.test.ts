// checkEngine: one ping with errors that say what to fix, and its options, checked by the one
// normalising pass before any I/O.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Docker from "dockerode";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerClient } from "../../src/engine/docker-client.js";
import { EngineUnreachableError, InvalidArgumentError } from "../../src/errors.js";
import { checkEngine } from "../../src/operation/check-engine.js";
import { dockerConfig, tempDir, writeContext } from "../support/credentials/support.js";
import { type Certificates, makeCertificates } from "../support/credentials/tls.js";

let certs: Certificates;
let certsRoot: string;

beforeAll(async () => {
  certsRoot = await mkdtemp(path.join(tmpdir(), "pdu-certs-"));
  certs = await makeCertificates(certsRoot);
});

afterAll(async () => {
  await rm(certsRoot, { recursive: true, force: true });
});

/** An environment holding only what the test gives, with an empty Docker config. */
async function env(values: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const home = await tempDir("pdu-home-");
  return { HOME: home, DOCKER_CONFIG: path.join(home, ".docker"), ...values };
}

const nowhere = { DOCKER_HOST: `unix:///tmp/pdu-nowhere-${randomUUID()}.sock` };

/** A TCP server on loopback that accepts connections and never answers. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("checkEngine", () => {
  it("names the socket, how it was chosen, and the cause when nothing listens", async () => {
    const dir = await tempDir();
    const socket = path.join(dir, "nothing.sock");
    const error = await checkEngine({
      docker: dockerClient({ env: await env({ DOCKER_HOST: `unix://${socket}` }) }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect(error).toMatchObject({
      code: "ERR_DOCKER_ENGINE_UNREACHABLE",
      endpoint: `unix://${socket}`,
    });
    expect((error as Error).message).toContain(`unix://${socket} (from DOCKER_HOST)`);
    expect((error as Error).message).toContain("ENOENT");
  });

  it("finds the engine in the env option when no client is given", async () => {
    const dir = await tempDir();
    const socket = path.join(dir, "from-env.sock");
    const error = await checkEngine({
      env: await env({ DOCKER_HOST: `unix://${socket}` }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as Error).message).toContain(`unix://${socket} (from DOCKER_HOST)`);
  });

  it("names the context an unreachable endpoint came from", async () => {
    const dir = await dockerConfig({ currentContext: "gone" });
    await writeContext(dir, "gone", "tcp://127.0.0.1:1");
    const error = await checkEngine({
      docker: dockerClient({ env: { DOCKER_CONFIG: dir } }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as Error).message).toMatch(
      /tcp:\/\/127\.0\.0\.1:1 \(from currentContext "gone" in .*\): .*ECONNREFUSED/,
    );
  });

  it("gives up on an endpoint that never answers within the timeout", async () => {
    const server = await silentServer();
    try {
      const docker = dockerClient({
        env: await env({ DOCKER_HOST: `tcp://127.0.0.1:${server.port}` }),
      });
      const started = performance.now();
      const error = await checkEngine({ docker }).catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(EngineUnreachableError);
      expect((error as Error).message).toBe(
        `Cannot reach the Docker engine at tcp://127.0.0.1:${server.port} (from DOCKER_HOST): no answer within 2000 ms`,
      );
      // It waited for the default 2000 ms (the message says so too), and then gave up instead of
      // hanging: a generous margin above it, since a loaded machine runs timers late; how
      // precisely the timeout fires is not what this test is about.
      expect(elapsed).toBeGreaterThanOrEqual(1900);
      expect(elapsed).toBeLessThan(15_000);
    } finally {
      await server.close();
    }
  });

  it("fails a TLS endpoint that does not speak TLS, naming the TLS problem", async () => {
    const server = await silentServer();
    try {
      const docker = dockerClient({
        env: await env({
          DOCKER_HOST: `tcp://127.0.0.1:${server.port}`,
          DOCKER_TLS_VERIFY: "1",
          DOCKER_CERT_PATH: certs.clientDir,
        }),
      });
      const error = await checkEngine({ docker, timeoutMs: 500 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineUnreachableError);
      expect((error as Error).message).toContain(
        `tcp://127.0.0.1:${server.port} (TLS) (from DOCKER_HOST)`,
      );
    } finally {
      await server.close();
    }
  });

  it("rejects with the signal's reason when cancelled", async () => {
    const server = await silentServer();
    try {
      const docker = dockerClient({
        env: await env({ DOCKER_HOST: `tcp://127.0.0.1:${server.port}` }),
      });
      const controller = new AbortController();
      const reason = new Error("cancelled by the test");
      setTimeout(() => controller.abort(reason), 100);
      await expect(checkEngine({ docker, signal: controller.signal })).rejects.toBe(reason);
      const aborted = AbortSignal.abort(reason);
      await expect(checkEngine({ docker, signal: aborted })).rejects.toBe(reason);
    } finally {
      await server.close();
    }
  });

  it("describes a client it did not make", async () => {
    const dir = await tempDir();
    const docker = new Docker({ socketPath: path.join(dir, "none.sock") });
    await expect(checkEngine({ docker })).rejects.toThrow(
      `unix://${path.join(dir, "none.sock")} (from the client passed in)`,
    );
  });

  it("validates timeoutMs", async () => {
    await expect(
      checkEngine({ docker: dockerClient({ env: await env() }), timeoutMs: 0 }),
    ).rejects.toThrow(InvalidArgumentError);
  });
});

describe("checkEngine's options", () => {
  const client = () => dockerClient({ env: nowhere });

  it("accepts exactly the whole numbers from 1 to 2147483647 as timeoutMs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.anything(), fc.double(), fc.integer({ min: -5, max: 2_147_483_650 })),
        async (timeoutMs) => {
          const error = await checkEngine({
            docker: client(),
            timeoutMs: timeoutMs as number,
          }).catch((e: unknown) => e);
          const valid =
            timeoutMs === undefined ||
            (typeof timeoutMs === "number" &&
              Number.isInteger(timeoutMs) &&
              timeoutMs >= 1 &&
              timeoutMs <= 2_147_483_647);
          expect(error).toBeInstanceOf(valid ? EngineUnreachableError : InvalidArgumentError);
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each(["fast", 5, null])("refuses options that are not an object: %j", async (options) => {
    await expect(checkEngine(options as unknown as { timeoutMs: number })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it("refuses the old positional form, saying how to write the call", async () => {
    const call = "write checkEngine({ docker, timeoutMs: 1000 })";
    await expect(checkEngine(client() as never)).rejects.toThrow(call);
    const old = checkEngine as (...args: unknown[]) => Promise<unknown>;
    await expect(old(client(), { timeoutMs: 500 })).rejects.toThrow(call);
    await expect(old(undefined, { timeoutMs: 500 })).rejects.toThrow(
      "checkEngine({ timeoutMs: 1000 }) instead of checkEngine(undefined, { timeoutMs: 1000 })",
    );
    await expect(old(client())).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("refuses an env that is not an object", async () => {
    await expect(checkEngine({ env: "DOCKER_HOST=x" as never })).rejects.toThrow(
      "env must be an environment object such as process.env",
    );
  });

  it("refuses a docker option that is no dockerode client", async () => {
    await expect(checkEngine({ docker: {} as never })).rejects.toThrow(/has no modem/);
  });
});
