// The engine connection: request paths checked before sending, for the library's requests and a
// dockerClient()'s alike.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { dockerClient } from "../../src/engine/docker-client.js";
import { openEngine } from "../../src/engine/engine-connection.js";
import { EngineUnreachableError, InvalidArgumentError } from "../../src/errors.js";
import { tempDir } from "../support/credentials/support.js";

/** An environment holding only what the test gives, with an empty Docker config. */
async function env(values: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const home = await tempDir("pdu-home-");
  return { HOME: home, DOCKER_CONFIG: path.join(home, ".docker"), ...values };
}

describe("the engine connection", () => {
  it("refuses a path with a dot segment, a query or a control character before connecting", async () => {
    const engine = openEngine({ env: await env({ DOCKER_HOST: "unix:///tmp/pdu-none.sock" }) });
    for (const path of ["/images/../x", "/images/%2e%2e/x", "/x?y", "/x#y", "//x", "/x\n", "x"]) {
      await expect(engine.request({ method: "GET", path })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
    await expect(engine.request({ method: "GET", path: "/_ping" })).rejects.toBeInstanceOf(
      EngineUnreachableError,
    );
  });

  it("makes dockerClient() refuse a steered path before connecting", async () => {
    const client = dockerClient({ env: await env({ DOCKER_HOST: "unix:///tmp/pdu-none.sock" }) });
    await expect(client.getImage("../../containers/prune?").inspect()).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(client.getImage("busybox").inspect()).rejects.toBeInstanceOf(
      EngineUnreachableError,
    );
  });

  it("rejects a request header that would split the request", async () => {
    const engine = openEngine({ env: await env({ DOCKER_HOST: "unix:///tmp/pdu-none.sock" }) });
    await expect(
      engine.request({ method: "GET", path: "/_ping", headers: { "X-A": "1\r\nX-B: 2" } }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
