// A login goes to the registry's own origin (and the token server its challenge names), never to
// another host the registry points at. The real htpasswd registry sits behind a proxy that moves
// its upload locations to another origin: a fault the real registry cannot produce by itself.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { buildMultiPlatformImage, PushError } from "../../../src/index.js";
import { authRegistry } from "../../support/credentials/engine-ops.js";
import { testRepository } from "../support.js";
import { platformContext } from "./platform-support.js";

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly authorization: boolean;
}

/** An HTTP proxy to `target` on a loopback port; `rewrite` may change each answer's headers. */
async function proxy(
  target: string,
  rewrite: (headers: http.IncomingHttpHeaders) => void = () => undefined,
): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const [host, port] = target.split(":") as [string, string];
  const server = http.createServer((request, response) => {
    seen.push({
      method: request.method ?? "",
      path: (request.url ?? "").split("?")[0] as string,
      authorization: request.headers.authorization !== undefined,
    });
    const forwarded = http.request(
      { host, port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        const headers = { ...answer.headers };
        rewrite(headers);
        response.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(response);
      },
    );
    forwarded.on("error", () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, seen };
}

describe("where the registry login goes", () => {
  it("never sends it to an upload location on another host: the registry's 401 stands", async () => {
    const registry = await authRegistry();
    const elsewhere = await proxy(registry.host);
    // `localhost:<port>` is another origin than `127.0.0.1:<front port>`.
    const front = await proxy(registry.host, (headers) => {
      if (typeof headers.location === "string") {
        const moved = new URL(headers.location, "http://placeholder");
        headers.location = `http://localhost:${elsewhere.port}${moved.pathname}${moved.search}`;
      }
    });
    const host = `127.0.0.1:${front.port}`;
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const error = await buildMultiPlatformImage(dir, `${host}/${repository}:x`, {
      platforms: ["linux/amd64"],
      auth: { [host]: { username: registry.username, password: registry.password } },
      retryDelayMs: 1,
    }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).statusCode).toBe(401);
    // The registry's own origin got the login; the other host was reached, never with it.
    expect(front.seen.some((request) => request.authorization)).toBe(true);
    expect(elsewhere.seen.length).toBeGreaterThan(0);
    expect(elsewhere.seen.filter((request) => request.authorization)).toEqual([]);
  });
});
