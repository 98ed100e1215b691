// A BuildKit build's session ends with the build, however the build ends: aborted, timed out,
// failed or done. Nothing is left running in the engine or in this process.
import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { buildImage, InactivityTimeoutError } from "../../../src/index.js";
import { authRegistry } from "../../support/credentials/engine-ops.js";
import { bust, contextWith, PRIVATE_BASE, untagPrivateBase } from "../buildkit-helpers.js";
import { docker } from "../support.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../../..");
const CHILD = path.join(ROOT, "test/integration/buildkit-child.ts");

/** Handles that keep a process alive: sockets, pipes, servers. */
const openHandles = () =>
  process.getActiveResourcesInfo().filter((kind) => /TCP|Pipe|Socket|Server/i.test(kind)).length;

/** Processes whose command line contains `marker` (the engine runs RUN steps on this kernel). */
async function processesWith(marker: string): Promise<string[]> {
  const { stdout } = await run("ps", ["-eo", "args"]);
  return stdout.split("\n").filter((line) => line.includes(marker) && !line.includes("ps -eo"));
}

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms: number) {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

describe("the end of a BuildKit build", () => {
  it("rejects within 1 s of an abort mid-RUN and leaves no RUN process, container or socket", async () => {
    const marker = `pdu-bk-abort-${bust()}`;
    const dir = await contextWith({
      Dockerfile: `FROM busybox:latest\nRUN echo started && sleep 120 && echo ${marker}\n`,
    });
    const handlesBefore = openHandles();
    const controller = new AbortController();
    const reason = new Error("stop now");
    let abortedAt = 0;
    const error = await buildImage(dir, {
      builder: "buildkit",
      networkMode: "none",
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === "vertex-log" && abortedAt === 0) {
          abortedAt = performance.now();
          controller.abort(reason);
        }
      },
    }).catch((failure: unknown) => failure);
    const latency = performance.now() - abortedAt;
    expect(abortedAt).toBeGreaterThan(0);
    expect(error).toBe(reason);
    expect(latency).toBeLessThan(1_000);
    expect(
      await eventually(
        () => processesWith(marker),
        (found) => found.length === 0,
        10_000,
      ),
    ).toEqual([]);
    expect(
      await eventually(
        async () => openHandles(),
        (n) => n <= handlesBefore,
        5_000,
      ),
    ).toBeLessThanOrEqual(handlesBefore);
    // Not a count of the engine's containers: other test files (and other users of the engine)
    // start and stop theirs meanwhile. None may be running this build's RUN.
    const containers = await docker.listContainers({ all: true });
    expect(containers.filter((container) => container.Command.includes(marker))).toEqual([]);
  });

  it("ends a silent build with InactivityTimeoutError, and its RUN with it", async () => {
    const marker = `pdu-bk-idle-${bust()}`;
    const dir = await contextWith({
      Dockerfile: `FROM busybox:latest\nRUN sleep 120 && echo ${marker}\n`,
    });
    const started = performance.now();
    const error = await buildImage(dir, {
      builder: "buildkit",
      networkMode: "none",
      inactivityTimeoutMs: 2_000,
      retries: 0,
    }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(InactivityTimeoutError);
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(
      await eventually(
        () => processesWith(marker),
        (found) => found.length === 0,
        10_000,
      ),
    ).toEqual([]);
  });

  it("lets the process exit by itself after every kind of ending, with no login in its output under DEBUG=*", async () => {
    const login = await authRegistry();
    await untagPrivateBase();
    const dir = await contextWith({
      "Dockerfile.ok": "FROM busybox:latest\nARG BUST\nRUN echo ok-$BUST\n",
      "Dockerfile.fail": "FROM busybox:latest\nARG BUST\nRUN echo $BUST && exit 4\n",
      "Dockerfile.slow": "FROM busybox:latest\nARG BUST\nRUN echo go-$BUST && sleep 120\n",
      "Dockerfile.private": `FROM ${PRIVATE_BASE}\nARG BUST\nRUN echo private-$BUST\n`,
    });
    const started = Date.now();
    const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
      cwd: ROOT,
      env: {
        ...process.env,
        DEBUG: "*",
        PDU_CONTEXT: dir,
        PDU_REGISTRY: login.host,
        PDU_USER: login.username,
        PDU_PASSWORD: login.password,
        PDU_TEST_RUN: inject("testRun"),
        DOCKER_CONFIG: path.join(dir, "no-config"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    clearTimeout(timer);
    expect(code, output.slice(-3000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(output).toContain("succeeds: 'sha256:");
    expect(output).toMatch(/fails in the stream failed: BuildError: executor failed running/);
    expect(output).toContain(
      'fails at HTTP level failed: BuildError: network mode "bridge" not supported by buildkit',
    );
    expect(output).toContain("aborted failed: Error: stop");
    expect(output).toContain("inactivity failed: InactivityTimeoutError");
    expect(output).toContain("private base: 'sha256:");
    expect(output).toMatch(/private base, wrong password failed: BuildError: .*401 Unauthorized/);
    expect(output).toContain("session credentials for 127.0.0.1:5556: found");
    const { password, username } = login;
    for (const form of [
      password,
      JSON.stringify(password).slice(1, -1),
      encodeURIComponent(password),
      Buffer.from(`${username}:${password}`).toString("base64"),
      Buffer.from(password).toString("base64"),
    ]) {
      expect(output.includes(form), `the output contains ${JSON.stringify(form)}`).toBe(false);
    }
  });
});
