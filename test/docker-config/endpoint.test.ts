// Issue 17 item 9: an engine address with a password (DOCKER_HOST=ssh://alice:PASSWORD@host, or a
// context's) never shows the password: not in errors, not in what resolveEngine returns, not in
// DEBUG lines. ssh:// refuses a password outright, as the docker CLI does.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { redactHost, resolveEngine } from "../../src/docker-config/endpoint.js";
import { dockerClient } from "../../src/engine/docker-client.js";
import { openEngine } from "../../src/engine/engine-connection.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { buildImage } from "../../src/prefect/build-image.js";
import { pushImage } from "../../src/prefect/push-image.js";
import { dockerConfig, writeContext } from "../support/credentials/support.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const SECRET = "S3CR3T-PASSWORD";

/** Everything an error shows: message, stack, own fields and causes. */
function everything(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    parts.push(String((e as Error).message), String((e as Error).stack), JSON.stringify(e));
    if (parts.length > 30) break;
  }
  return parts.join("\n");
}

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("an engine address with a password", () => {
  it.each([
    `ssh://alice:${SECRET}@build-host`,
    `ssh://alice:${SECRET}@build-host:2222`,
    `ssh://alice:${SECRET}@[::1]:22`,
    `ssh://alice:${SECRET}@build-host/var/run/docker.sock`,
    `ssh://alice:p%40ss${SECRET}@build-host`,
    `ssh://:${SECRET}@build-host`,
  ])("refuses DOCKER_HOST=%s as the CLI does, without showing the password", (host) => {
    const error = thrown(() => resolveEngine({ env: { DOCKER_HOST: host } }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain("plain-text passwords are not supported");
    expect((error as Error).message).toMatch(/DOCKER_HOST names the engine "ssh:\/\/[^"]*:\*\*\*@/);
    expect(everything(error)).not.toContain(SECRET);
  });

  it.each([
    `ssh://alice:${SECRET}@[bad`,
    `fd://alice:${SECRET}@somewhere`,
    `tcp://alice:${SECRET}@[bad`,
    `alice:${SECRET}@[bad`,
    `ssh://alice:pa/ss#${SECRET}@host`,
    `ssh://alice:${SECRET}@host?x=1`,
  ])("names the unusable DOCKER_HOST %s without its password", (host) => {
    const error = thrown(() => resolveEngine({ env: { DOCKER_HOST: host } }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(":***@");
    expect(everything(error)).not.toContain(SECRET);
  });

  it("refuses it from a Docker context too", async () => {
    const config = await dockerConfig({});
    await writeContext(config, "remote", `ssh://alice:${SECRET}@build-host`);
    const env = { DOCKER_CONFIG: config, DOCKER_CONTEXT: "remote" };
    const error = thrown(() => resolveEngine({ env }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('DOCKER_CONTEXT "remote"');
    expect(everything(error)).not.toContain(SECRET);
  });

  it("refuses it in every entry point, before any I/O", async () => {
    const env = { DOCKER_HOST: `ssh://alice:${SECRET}@127.0.0.1:1` };
    const errors = [
      thrown(() => dockerClient({ env })),
      thrown(() => openEngine({ env })),
      await buildImage(path.join(ROOT, "test/fixtures/contexts/tiny"), { env }).catch(
        (e: unknown) => e,
      ),
      await pushImage("busybox", "http://127.0.0.1:1", "x", { env, retries: 0 }).catch(
        (e: unknown) => e,
      ),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(everything(error)).not.toContain(SECRET);
    }
  });

  it("leaves it out of a tcp:// endpoint's url and of its errors", async () => {
    const endpoint = resolveEngine({ env: { DOCKER_HOST: `tcp://alice:${SECRET}@127.0.0.1:1` } });
    expect(endpoint.url).toBe("tcp://127.0.0.1:1");
    expect(JSON.stringify(endpoint)).not.toContain(SECRET);
    const error = await openEngine({ env: { DOCKER_HOST: `tcp://alice:${SECRET}@127.0.0.1:1` } })
      .ping()
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain("tcp://127.0.0.1:1");
    expect(everything(error)).not.toContain(SECRET);
  });

  it("leaves it out of DEBUG lines", async () => {
    // A fresh process with every debug namespace on, trying each address every way it can.
    const program = `
      const api = await import(${JSON.stringify(path.join(ROOT, "src/index.ts"))});
      const { dockerClient } = await import(${JSON.stringify(path.join(ROOT, "src/dockerode.ts"))});
      const tiny = ${JSON.stringify(path.join(ROOT, "test/fixtures/contexts/tiny"))};
      for (const DOCKER_HOST of [
        "ssh://alice:${SECRET}@127.0.0.1:1",
        "tcp://alice:${SECRET}@127.0.0.1:1",
        "alice:${SECRET}@127.0.0.1:1",
      ]) {
        const env = { ...process.env, DOCKER_HOST };
        try { api.resolveEngine({ env }); } catch {}
        await api.checkEngine({ timeoutMs: 500 }).catch(() => {});
        await api.buildImage(tiny, { env, retries: 0 }).catch(() => {});
        await api.pushImage("busybox", "http://127.0.0.1:1", "x", { env, retries: 0 }).catch(() => {});
        try { await dockerClient({ env }).ping(); } catch {}
      }
    `;
    const { stderr } = await run(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", program],
      {
        cwd: ROOT,
        env: { ...process.env, DEBUG: "*", DOCKER_HOST: `tcp://alice:${SECRET}@127.0.0.1:1` },
      },
    );
    // The run did log: what the engine module says about the addresses it tried.
    expect(stderr).toContain("prefect-dockerutils:engine");
    expect(stderr).toContain("tcp://127.0.0.1:1");
    expect(stderr).not.toContain(SECRET);
  });
});

describe("redactHost", () => {
  it.each([
    ["ssh://alice:pw@host", "ssh://alice:***@host"],
    ["ssh://alice@host:22", "ssh://alice@host:22"],
    ["tcp://alice:p@ss/w:rd@host:2375", "tcp://alice:***@host:2375"],
    ["alice:pw@host:2375", "alice:***@host:2375"],
    ["unix:///var/run/docker.sock", "unix:///var/run/docker.sock"],
    ["tcp://host:2375/p@th", "tcp://host:***@th"],
  ])("shows %j as %j", (host, shown) => {
    expect(redactHost(host)).toBe(shown);
  });
});
