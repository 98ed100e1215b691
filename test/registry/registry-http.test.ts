import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { discard, HttpAgents, readBounded, sendHttp } from "../../src/registry/registry-http.js";

// A loopback server of the test's own, answering as `answer` says; it counts connections.
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(
  answer: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ url: URL; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer(answer);
  server.on("connection", (socket) => {
    connections++;
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/v2/`), connections: () => connections };
}

describe("sendHttp", () => {
  it("gives a connection back to the pool once an empty answer is discarded", async () => {
    const { url, connections } = await serve((_request, response) => {
      response.writeHead(201, { "Content-Length": "0" });
      response.end();
    });
    const agents = new HttpAgents();
    try {
      // More requests than the pool has sockets: each must free its socket for the next.
      for (let i = 0; i < 12; i++) {
        const response = await sendHttp({ method: "PUT", url, agents, timeoutMs: 2_000 });
        expect(response.status).toBe(201);
        await discard(response);
      }
      expect(connections()).toBe(1);
    } finally {
      agents.destroy();
    }
  });

  it("hands back a redirect instead of following it", async () => {
    const { url } = await serve((_request, response) => {
      response.writeHead(307, { Location: "http://127.0.0.2:1/elsewhere" });
      response.end();
    });
    const agents = new HttpAgents();
    try {
      const response = await sendHttp({ method: "GET", url, agents, timeoutMs: 2_000 });
      expect(response.status).toBe(307);
      expect(response.headers.location).toBe("http://127.0.0.2:1/elsewhere");
      await discard(response);
    } finally {
      agents.destroy();
    }
  });

  it("fails a registry that stays silent longer than timeoutMs, as ETIMEDOUT", async () => {
    const { url } = await serve(() => undefined);
    const agents = new HttpAgents();
    try {
      const error = await sendHttp({ method: "GET", url, agents, timeoutMs: 100 }).catch(
        (caught: unknown) => caught,
      );
      expect((error as NodeJS.ErrnoException).code).toBe("ETIMEDOUT");
      expect((error as Error).message).toContain("sent nothing for 100 ms");
    } finally {
      agents.destroy();
    }
  });

  it("rejects with the signal's reason", async () => {
    const { url } = await serve(() => undefined);
    const agents = new HttpAgents();
    const controller = new AbortController();
    const reason = new Error("stop");
    try {
      const sending = sendHttp({
        method: "GET",
        url,
        agents,
        timeoutMs: 10_000,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(reason), 20);
      await expect(sending).rejects.toBe(reason);
    } finally {
      agents.destroy();
    }
  });
});

describe("readBounded", () => {
  it("reads an answer up to the bound, and gives undefined past it", async () => {
    const { url } = await serve((_request, response) => {
      response.end("x".repeat(1000));
    });
    const agents = new HttpAgents();
    try {
      const within = await sendHttp({ method: "GET", url, agents, timeoutMs: 2_000 });
      expect((await readBounded(within, 1000))?.length).toBe(1000);
      const over = await sendHttp({ method: "GET", url, agents, timeoutMs: 2_000 });
      expect(await readBounded(over, 999)).toBeUndefined();
    } finally {
      agents.destroy();
    }
  });
});
