// BuildKit's registry logins from a credential helper that never answers (issue 17, item 7): the
// session's Auth service asks the helper while the engine pulls a private base image from the
// htpasswd registry, with the same guarantees as the classic builder: credentialHelperTimeoutMs,
// an abort that settles within 1 s, and the helper's process group killed either way. The base
// is a repository of this file's own (busybox pushed there), not the shared private base: the
// engine shares one resolution of a reference among concurrent builds, and another test's build
// of the same reference would answer for this one without asking its helper.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { BuildError, buildImage, CredentialsError, pushImage } from "../../../src/index.js";
import { authRegistry } from "../../support/credentials/engine-ops.js";
import {
  dockerConfig,
  envWith,
  installScriptHelper,
  tempDir,
} from "../../support/credentials/support.js";
import { bust, contextWith } from "../buildkit-helpers.js";
import { testRepository } from "../support.js";

const REGISTRY = "127.0.0.1:5556";
const repository = testRepository("bk-helper-base", "file");
let base: string;

beforeAll(async () => {
  const login = await authRegistry();
  // pushImage removes its registry tag afterwards, so the engine must pull the base to build.
  base = await pushImage("busybox:latest", `http://${REGISTRY}`, repository, {
    tag: "1",
    auth: { username: login.username, password: login.password },
  });
});

/** Whether a process still runs (exists and is no zombie). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return false;
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

/** The PIDs the helper wrote (itself and the child it waits on), once both are there. */
async function helperPids(file: string): Promise<number[]> {
  for (let i = 0; i < 1200; i++) {
    const pids = (await readFile(file, "utf8").catch(() => ""))
      .split("\n")
      .filter(Boolean)
      .map(Number);
    if (pids.length >= 2) return pids;
    await sleep(25);
  }
  throw new Error(`the credential helper never started (${file} stayed empty)`);
}

/** Those of `pids` still running after at most 3 s. */
async function survivors(pids: readonly number[]): Promise<number[]> {
  let alive = [...pids];
  for (let i = 0; i < 60 && alive.length > 0; i++) {
    if (i > 0) await sleep(50);
    const still: number[] = [];
    for (const pid of alive) if (await running(pid)) still.push(pid);
    alive = still;
  }
  return alive;
}

/** A credHelpers entry for the htpasswd registry naming a helper stuck on a child process. */
async function hangingHelper(name: string) {
  const pidFile = path.join(await tempDir("pdu-bk-pids-"), "pids");
  const binDir = await installScriptHelper(
    name,
    `echo $$ >> "${pidFile}"\nsleep 1000 &\necho $! >> "${pidFile}"\nwait`,
  );
  const env = envWith(await dockerConfig({ credHelpers: { [REGISTRY]: name } }), binDir);
  const context = await contextWith({
    Dockerfile: `FROM ${base}\nARG BUST\nRUN echo private-$BUST\n`,
  });
  return { env, pidFile, context };
}

describe("a BuildKit build whose registry login comes from a helper that never answers", () => {
  it("fails after credentialHelperTimeoutMs with the helper's CredentialsError, its processes killed", async () => {
    const { env, pidFile, context } = await hangingHelper("pdu-bk-slow");
    const started = performance.now();
    const error = await buildImage(context, {
      builder: "buildkit",
      networkMode: "none",
      buildArgs: { BUST: bust() },
      env,
      credentialHelperTimeoutMs: 500,
      retries: 0,
    }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(BuildError);
    const cause = (error as BuildError).cause;
    expect(cause).toBeInstanceOf(CredentialsError);
    expect((cause as CredentialsError).helper).toBe("docker-credential-pdu-bk-slow");
    expect((cause as Error).message).toContain("within 500 ms");
    expect((error as Error).message).toContain("docker-credential-pdu-bk-slow");
    // The default timeout is 30 s: this one ended long before.
    expect(elapsed).toBeLessThan(15_000);
    expect(await survivors(await helperPids(pidFile))).toEqual([]);
  });

  it("rejects within 1 s of an abort with the signal's reason, its processes killed", async () => {
    const { env, pidFile, context } = await hangingHelper("pdu-bk-hang");
    const controller = new AbortController();
    const reason = new Error("cancelled by the test");
    const outcome = buildImage(context, {
      builder: "buildkit",
      networkMode: "none",
      buildArgs: { BUST: bust() },
      env,
      signal: controller.signal,
    }).then(
      () => ({ error: undefined, at: performance.now() }),
      (error: unknown) => ({ error, at: performance.now() }),
    );
    // Abort only once the engine asked and the helper runs.
    const pids = await helperPids(pidFile);
    for (const pid of pids) expect(await running(pid)).toBe(true);
    const abortedAt = performance.now();
    controller.abort(reason);
    const { error, at } = await outcome;
    expect(error).toBe(reason);
    expect(at - abortedAt).toBeLessThan(1000);
    expect(await survivors(pids)).toEqual([]);
  });
});
