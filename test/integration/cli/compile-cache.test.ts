// The built bin keeps Node's compile cache in the user's cache folder on Node 22.1 and later, and
// keeps none on Node 20, or when it is switched off.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import module from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { nodeBinary } from "../../../scripts/node-lines.mjs";
import { type InstalledPackage, installPackage } from "../installed-package.js";

const run = promisify(execFile);

let installed: InstalledPackage;

beforeAll(async () => {
  installed = await installPackage();
}, 180_000);

/** A user cache folder of the test's own. */
async function cacheHome(): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), "pdu-cache-home-"));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/** Runs the bin's `parse-ref ubuntu` with `node` and resolves to what it printed. */
async function parseRef(node: string, env: NodeJS.ProcessEnv): Promise<string> {
  const clean = {
    ...process.env,
    NODE_COMPILE_CACHE: undefined,
    NODE_DISABLE_COMPILE_CACHE: undefined,
  };
  const { stdout, stderr } = await run(node, [installed.bin, "parse-ref", "ubuntu"], {
    env: { ...clean, ...env },
  });
  expect(stderr).toBe("");
  expect(JSON.parse(stdout)).toMatchObject({ normalizedName: "docker.io/library/ubuntu" });
  return stdout;
}

/** The files in the bin's compile cache under `home`, relative to it. */
async function cacheFiles(home: string): Promise<string[]> {
  const folder = path.join(home, "prefect-dockerutils", "compile-cache");
  if (!existsSync(folder)) return [];
  return (await readdir(folder, { recursive: true })).map(String);
}

function nodeOf(line: number): string {
  const node = nodeBinary(line);
  expect(existsSync(node), `${node} is missing: run \`npm run node-lines\``).toBe(true);
  return node;
}

describe("the command line's compile cache", () => {
  it.each([22, 26])(
    "is written to the user's cache folder on Node %i and read on the next start",
    async (line) => {
      const node = nodeOf(line);
      const home = await cacheHome();
      const first = await parseRef(node, { XDG_CACHE_HOME: home });
      const files = await cacheFiles(home);
      // Node keeps a folder per version, of the modules it compiled: the library's among them.
      expect(files.some((file) => file.startsWith(`v${line}.`))).toBe(true);
      expect(files.length).toBeGreaterThan(3);
      expect(await parseRef(node, { XDG_CACHE_HOME: home })).toBe(first);
    },
  );

  it.each([
    ["PREFECT_DOCKERUTILS_NO_COMPILE_CACHE", "1"],
    ["NODE_DISABLE_COMPILE_CACHE", "1"],
  ])("is not kept with %s=%s", async (name, value) => {
    const home = await cacheHome();
    await parseRef(nodeOf(26), { XDG_CACHE_HOME: home, [name]: value });
    expect(await cacheFiles(home)).toEqual([]);
  });

  it("is kept on this Node exactly when it has module.enableCompileCache (not on Node 20)", async () => {
    const home = await cacheHome();
    await parseRef(process.execPath, { XDG_CACHE_HOME: home });
    const supported =
      typeof (module as { enableCompileCache?: unknown }).enableCompileCache === "function";
    expect(supported).toBe(Number(process.versions.node.split(".")[0]) >= 22);
    expect((await cacheFiles(home)).length > 0).toBe(supported);
  });
});
