// The README's plain-JavaScript examples, run as the .mjs files users would write, against the
// package as it is built and installed: the try/finally one on this Node (20 and later), and the
// `await using` one unlowered (no transpiler in between) on Node 24 and 26, which parse it.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { nodeBinary } from "../../scripts/node-lines.mjs";
import { type InstalledPackage, installPackage } from "./installed-package.js";
import { docker, IMAGE_ID_PATTERN, runImage, TEST_RUN } from "./support.js";

const run = promisify(execFile);
const repository = path.resolve(import.meta.dirname, "../..");

/** The code block that follows `<!-- example: <name> ... -->` in the README. */
async function readmeExample(name: string): Promise<string> {
  const readme = await readFile(path.join(repository, "README.md"), "utf8");
  const marker = readme.indexOf(`<!-- example: ${name}`);
  expect(marker, `README marker for ${name}`).toBeGreaterThan(-1);
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(marker));
  expect(block?.[1], `code block after the ${name} marker`).toBeDefined();
  return block?.[1] as string;
}

let installed: InstalledPackage;

beforeAll(async () => {
  installed = await installPackage();
}, 180_000);

/**
 * Runs a README example with `node`, in a TMPDIR of its own, and checks what it printed: the ID
 * of an image that says hello, built with this run's labels, and nothing left in its TMPDIR.
 */
async function runExample(node: string, name: string): Promise<void> {
  const script = path.join(installed.app, name);
  await writeFile(script, await readmeExample(name));
  const tmp = await mkdtemp(path.join(tmpdir(), "pdu-example-tmp-"));
  try {
    const { stdout, stderr } = await run(node, ["--import", "./labels.mjs", script], {
      cwd: installed.app,
      env: { ...process.env, TMPDIR: tmp },
    });
    const imageId = stdout.trim();
    expect(stderr).toBe("");
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect((await docker.getImage(imageId).inspect()).Config.Labels).toMatchObject({
      "io.prefect-dockerutils.test-run": TEST_RUN,
    });
    expect(await runImage(imageId)).toBe("Hello from ImageBuilder\n");
    // The builder was closed: its temporary context is gone.
    expect(await readdir(tmp)).toEqual([]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

describe("the README", () => {
  it("has a try/finally example that runs as a plain .mjs file on this Node", async () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(20);
    await runExample(process.execPath, "try-finally.mjs");
  });

  it.each([24, 26])(
    "has an await using example that Node %i runs unlowered, as a plain .mjs file",
    async (line) => {
      expect(await readmeExample("await-using.mjs")).toMatch(/^await using image = /m);
      const node = nodeBinary(line);
      expect(existsSync(node), `${node} is missing: run \`npm run node-lines\``).toBe(true);
      const { stdout: version } = await run(node, ["--version"]);
      expect(version).toMatch(new RegExp(`^v${line}\\.`));
      await runExample(node, "await-using.mjs");
    },
  );
});
