// What runs a process and what does not: pythonVersionMinor/Micro and getPrefectImageName run
// nothing; detectPythonVersion and resolvePrefectImageName run their probes asynchronously.
// Fake `python3` and `git` programs on PATH record every run, so no real Python is needed.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  DEFAULT_PYTHON_VERSION,
  detectPythonVersion,
  getPrefectImageName,
  PREFECT_VERSION,
  pythonVersionMicro,
  pythonVersionMinor,
  resolvePrefectImageName,
} from "../../src/prefect/prefect-image.js";
import { tempDir } from "../support/files.js";

let bin: string;
const originalPath = process.env.PATH;

/** Writes an executable shell script `name` into `bin` that records its run, then runs `body`. */
async function fake(name: string, body: string): Promise<string> {
  const ran = path.join(bin, `${name}.ran`);
  await writeFile(path.join(bin, name), `#!/bin/sh\necho run >> '${ran}'\n${body}\n`);
  await chmod(path.join(bin, name), 0o755);
  return ran;
}

beforeEach(async () => {
  bin = await tempDir("pdu-fake-bin-");
  process.env.PATH = `${bin}${path.delimiter}${originalPath}`;
});
afterEach(() => {
  process.env.PATH = originalPath;
});

describe("before any detection", () => {
  it("pythonVersionMinor, pythonVersionMicro and getPrefectImageName run nothing", async () => {
    const python = await fake("python3", "echo 3.11.7");
    const git = await fake("git", "echo 1234abc");
    expect(pythonVersionMinor()).toBe(DEFAULT_PYTHON_VERSION);
    expect(pythonVersionMicro()).toBe(`${DEFAULT_PYTHON_VERSION}.0`);
    expect(getPrefectImageName()).toBe(
      `prefecthq/prefect:${PREFECT_VERSION}-python${DEFAULT_PYTHON_VERSION}`,
    );
    expect(() => getPrefectImageName("3.0.0+local")).toThrow(InvalidArgumentError);
    expect(existsSync(python)).toBe(false);
    expect(existsSync(git)).toBe(false);
  });
});

describe("detectPythonVersion", () => {
  it("falls back to DEFAULT_PYTHON_VERSION when the interpreter is missing", async () => {
    expect(await detectPythonVersion({ python: "no-such-python-for-prefect-dockerutils" })).toEqual(
      { minor: DEFAULT_PYTHON_VERSION, micro: `${DEFAULT_PYTHON_VERSION}.0` },
    );
    expect(DEFAULT_PYTHON_VERSION).toBe("3.12");
  });

  it("falls back when the interpreter fails or prints something else", async () => {
    await fake("pdu-python-fails", "exit 1");
    await fake("pdu-python-chatty", "echo Python 3.11.7");
    for (const python of ["pdu-python-fails", "pdu-python-chatty"]) {
      expect(await detectPythonVersion({ python })).toEqual({ minor: "3.12", micro: "3.12.0" });
    }
  });

  it("rejects with the signal's reason and kills the probe when aborted", async () => {
    const ran = await fake("pdu-python-hangs", "exec sleep 60");
    const controller = new AbortController();
    const pending = detectPythonVersion({ python: "pdu-python-hangs", signal: controller.signal });
    await expect.poll(() => existsSync(ran)).toBe(true);
    const reason = new Error("stop probing");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("asks another interpreter without changing what pythonVersionMinor reports", async () => {
    await fake("pdu-python311", "echo 3.11.7");
    expect(await detectPythonVersion({ python: "pdu-python311" })).toEqual({
      minor: "3.11",
      micro: "3.11.7",
    });
    expect(pythonVersionMinor()).toBe(DEFAULT_PYTHON_VERSION);
  });

  it("asks python3 on every call and keeps nothing: the sync accessors keep the default", async () => {
    const ran = await fake("python3", "echo 3.10.14");
    expect(await detectPythonVersion()).toEqual({ minor: "3.10", micro: "3.10.14" });
    expect(await detectPythonVersion()).toEqual({ minor: "3.10", micro: "3.10.14" });
    expect(readFileSync(ran, "utf8")).toBe("run\nrun\n");
    // No hidden state: what ran before changes none of the synchronous answers.
    expect(pythonVersionMinor()).toBe(DEFAULT_PYTHON_VERSION);
    expect(pythonVersionMicro()).toBe(`${DEFAULT_PYTHON_VERSION}.0`);
    expect(getPrefectImageName("3.0.0")).toBe(
      `prefecthq/prefect:3.0.0-python${DEFAULT_PYTHON_VERSION}`,
    );
    // The detected version is passed on explicitly, or found by resolvePrefectImageName.
    const { minor } = await detectPythonVersion();
    expect(getPrefectImageName("3.0.0", minor)).toBe("prefecthq/prefect:3.0.0-python3.10");
    expect(await resolvePrefectImageName("3.0.0")).toBe("prefecthq/prefect:3.0.0-python3.10");
    expect(readFileSync(ran, "utf8")).toBe("run\nrun\nrun\nrun\n");
  });

  it("answers the fallback as a frozen value", async () => {
    const answer = await detectPythonVersion({ python: "no-such-python-for-prefect-dockerutils" });
    expect(Object.isFrozen(answer)).toBe(true);
  });
});

describe("resolvePrefectImageName", () => {
  it("asks git rev-parse --short=7 HEAD in options.cwd for a label without a commit", async () => {
    const repo = await tempDir("pdu-git-");
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
        cwd: repo,
        encoding: "utf8",
      }).trim();
    git("init", "-q");
    git("commit", "-q", "--allow-empty", "-m", "empty");
    const sha = git("rev-parse", "--short=7", "HEAD");
    expect(await resolvePrefectImageName("3.0.0+local", "3.12", "conda", { cwd: repo })).toBe(
      `prefecthq/prefect-dev:sha-${sha}-python3.12-conda`,
    );
  });

  it("runs neither probe when the arguments say everything", async () => {
    const python = await fake("python3", "echo 3.11.7");
    const git = await fake("git", "echo 1234abc");
    expect(await resolvePrefectImageName("3.0.0+1.gabcdef0", "3.12")).toBe(
      "prefecthq/prefect-dev:sha-abcdef0-python3.12",
    );
    expect(existsSync(python)).toBe(false);
    expect(existsSync(git)).toBe(false);
  });

  it("throws naming the version when git cannot tell the commit", async () => {
    const notARepo = await tempDir("pdu-no-git-");
    await expect(
      resolvePrefectImageName("3.0.0+local", "3.12", null, { cwd: notARepo }),
    ).rejects.toThrow(/No commit SHA could be found for Prefect version '3\.0\.0\+local'/);
  });

  it("rejects an invalid version before running anything", async () => {
    const python = await fake("python3", "echo 3.11.7");
    await expect(resolvePrefectImageName("not a version")).rejects.toThrow(
      /^Invalid version: 'not a version'/,
    );
    expect(existsSync(python)).toBe(false);
  });
});
