// Credential helpers that misbehave (issues 8 and 12): real helper programs on PATH that sleep
// forever, answer slowly, print garbage, flood their output, or fail after printing a secret.
// Every lookup settles, kills what it started, and never shows what a helper printed.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { credentialHelperGet } from "../../src/auth/credential-helper.js";
import { registryConfigHeader, resolveRegistryAuth } from "../../src/auth/credentials.js";
import { CredentialsError, InvalidArgumentError } from "../../src/errors.js";
import {
  dockerConfig,
  envWith,
  installHelper,
  installScriptHelper,
  tempDir,
} from "../support/credentials/support.js";

/** Whether a process still runs: it exists in /proc and is not a zombie waiting to be reaped. */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return false;
  // The state follows the command name, which is in parentheses.
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

/** Waits until `file` lists `count` process IDs, one a line. */
async function pidsIn(file: string, count: number): Promise<number[]> {
  for (let i = 0; i < 200; i++) {
    const pids = (await readFile(file, "utf8").catch(() => ""))
      .split("\n")
      .filter(Boolean)
      .map(Number);
    if (pids.length >= count) return pids;
    await sleep(25);
  }
  throw new Error(`${file} never listed ${count} processes`);
}

/** Waits (at most 3 s) until none of `pids` runs, and tells which still do. */
async function stillRunning(pids: readonly number[]): Promise<number[]> {
  for (let i = 0; i < 60; i++) {
    const alive: number[] = [];
    for (const pid of pids) if (await running(pid)) alive.push(pid);
    if (alive.length === 0) return [];
    await sleep(50);
  }
  const alive: number[] = [];
  for (const pid of pids) if (await running(pid)) alive.push(pid);
  return alive;
}

/**
 * A helper that records its own PID and that of a child it starts, then waits on the child:
 * a helper stuck on a keychain prompt or an agent.
 */
async function hangingHelper(name: string): Promise<{ env: NodeJS.ProcessEnv; pidFile: string }> {
  const dir = await tempDir("pdu-pids-");
  const pidFile = path.join(dir, "pids");
  const binDir = await installScriptHelper(
    name,
    `echo $$ >> "$PDU_PID_FILE"\nsleep 1000 &\necho $! >> "$PDU_PID_FILE"\nwait`,
  );
  const config = await dockerConfig({ credHelpers: { "r.example": name } });
  return { env: { ...envWith(config, binDir), PDU_PID_FILE: pidFile }, pidFile };
}

describe("a credential helper that never answers", () => {
  it("is killed with its children when the lookup is aborted, which rejects within 1 s with the signal's reason", async () => {
    const { env, pidFile } = await hangingHelper("pdu-hang");
    const controller = new AbortController();
    const reason = new Error("cancelled by the test");
    const lookup = resolveRegistryAuth("r.example/app", { env, signal: controller.signal });
    const settled = lookup.catch((error: unknown) => ({ error, at: performance.now() }));
    const pids = await pidsIn(pidFile, 2);
    for (const pid of pids) expect(await running(pid)).toBe(true);

    const abortedAt = performance.now();
    controller.abort(reason);
    const outcome = (await settled) as { error: unknown; at: number };
    expect(outcome.error).toBe(reason);
    expect(outcome.at - abortedAt).toBeLessThan(1000);
    expect(await stillRunning(pids)).toEqual([]);
  });

  it("is killed after credentialHelperTimeoutMs, failing with a CredentialsError that names it and the timeout", async () => {
    const { env, pidFile } = await hangingHelper("pdu-slow");
    const error = await resolveRegistryAuth("r.example/app", {
      env,
      credentialHelperTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect(error).toMatchObject({ helper: "docker-credential-pdu-slow" });
    expect((error as Error).message).toContain("docker-credential-pdu-slow get");
    expect((error as Error).message).toContain("within 300 ms");
    expect((error as Error).message).toContain("credentialHelperTimeoutMs");
    expect(await stillRunning(await pidsIn(pidFile, 2))).toEqual([]);
  });

  it("lets a helper that answers within the timeout answer", async () => {
    const binDir = await installScriptHelper(
      "pdu-late",
      `sleep 0.3\nprintf '{"Username":"u","Secret":"s"}'`,
    );
    const env = envWith(await dockerConfig({ credHelpers: { "r.example": "pdu-late" } }), binDir);
    expect(
      await resolveRegistryAuth("r.example/app", { env, credentialHelperTimeoutMs: 5000 }),
    ).toEqual({ username: "u", password: "s", serveraddress: "r.example" });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "3", null])(
    "refuses credentialHelperTimeoutMs %j before running anything",
    async (value) => {
      const helper = await installHelper("pdu-never", {});
      const env = envWith(
        await dockerConfig({ credHelpers: { "r.example": "pdu-never" } }),
        helper.binDir,
      );
      const error = await resolveRegistryAuth("r.example/app", {
        env,
        credentialHelperTimeoutMs: value as number,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain("credentialHelperTimeoutMs");
      expect(await helper.calls()).toEqual([]);
    },
  );
});

describe("a credential helper that prints what it should not", () => {
  it("that is not JSON is refused without echoing it", async () => {
    const binDir = await installScriptHelper("pdu-garbage", "echo 'hunter2-not-json {'");
    const error = await credentialHelperGet("pdu-garbage", "r.example", {
      env: envWith(await tempDir(), binDir),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toContain("not JSON");
    expect(`${(error as Error).message}\n${(error as Error).stack}`).not.toContain("hunter2");
  });

  it("in endless amounts is stopped at the output limit, without filling the memory", async () => {
    // Output without end: the lookup settles only if the helper is stopped at the limit (no
    // wall-clock bound needed, which a loaded machine would make flaky).
    const binDir = await installScriptHelper("pdu-flood", "exec cat /dev/zero");
    const before = process.memoryUsage().rss;
    const error = await credentialHelperGet("pdu-flood", "r.example", {
      env: envWith(await tempDir(), binDir),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toMatch(/printed more than 1048576 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("and then fails never has that output shown: not stdout, which held the secret, nor stderr", async () => {
    const binDir = await installScriptHelper(
      "pdu-leaky",
      `printf '{"Username":"u","Secret":"s3cr3t-on-stdout"}'\necho 'debug: token s3cr3t-on-stderr' >&2\nexit 3`,
    );
    const error = await credentialHelperGet("pdu-leaky", "r.example", {
      env: envWith(await tempDir(), binDir),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    const text = `${(error as Error).message}\n${(error as Error).stack}`;
    expect(text).not.toContain("s3cr3t");
    expect((error as Error).message).toContain("exited with code 3");
    expect((error as Error).message).toContain(
      "printf %s 'r.example' | docker-credential-pdu-leaky get",
    );
  });
});

describe("helper calls within one operation", () => {
  it("ask each helper at most once per registry, and again in the next operation", async () => {
    const helper = await installHelper("pdu-count", {
      "r.example": { Username: "u", Secret: "s" },
      "s.example": { Username: "v", Secret: "t" },
    });
    const env = envWith(
      await dockerConfig({
        credsStore: "pdu-count",
        credHelpers: { "r.example": "pdu-count", "s.example": "pdu-count" },
      }),
      helper.binDir,
    );
    expect(await registryConfigHeader({ env })).toBeDefined();
    const calls = await helper.calls();
    expect(calls.filter((call) => call.action === "list")).toHaveLength(1);
    expect(calls.filter((call) => call.input === "r.example")).toHaveLength(1);
    expect(calls.filter((call) => call.input === "s.example")).toHaveLength(1);

    await registryConfigHeader({ env });
    expect(await helper.calls()).toHaveLength(calls.length * 2);
  });

  it("never runs a helper named by a path", async () => {
    const env = envWith(await dockerConfig({ credsStore: "x/../../../bin/sh" }));
    const error = await resolveRegistryAuth("r.example/app", { env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toContain("is not a helper name");
  });
});
