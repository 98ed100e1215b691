// The README's plain-JavaScript example, run as the .mjs file a Node 20 user would write, against
// the package as it is built and installed.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

let root: string;
let app: string;

beforeAll(async () => {
  // The package as npm would install it: dist compiled from src, its package.json, and its
  // dependencies (this checkout's node_modules).
  root = await mkdtemp(path.join(tmpdir(), "pdu-readme-"));
  const pkg = path.join(root, "pkg");
  await mkdir(pkg);
  await run(
    process.execPath,
    [
      path.join(repository, "node_modules/typescript/bin/tsc"),
      "-p",
      path.join(repository, "tsconfig.build.json"),
      "--outDir",
      path.join(pkg, "dist"),
      "--declaration",
      "false",
      "--declarationMap",
      "false",
      "--sourceMap",
      "false",
      // The build config inlines sources into its maps, which needs sourceMap.
      "--inlineSources",
      "false",
    ],
    { cwd: repository },
  );
  await cp(path.join(repository, "package.json"), path.join(pkg, "package.json"));
  await symlink(path.join(repository, "node_modules"), path.join(pkg, "node_modules"));
  app = path.join(root, "app");
  await mkdir(path.join(app, "node_modules"), { recursive: true });
  await symlink(pkg, path.join(app, "node_modules", "prefect-dockerutils"));
  // Loaded before the example (--import): the images it builds get the labels of this run and of
  // a test of their own, as the images the tests build in-process do (setup-run.ts). The example
  // stays as the README has it.
  await writeFile(
    path.join(app, "labels.mjs"),
    `import { randomUUID } from "node:crypto";
import { IMAGE_LABELS } from "prefect-dockerutils";
IMAGE_LABELS["io.prefect-dockerutils.test-run"] = process.env.PDU_TEST_RUN;
IMAGE_LABELS["io.prefect-dockerutils.test-id"] = randomUUID();
`,
  );
}, 180_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("the README", () => {
  it("has a try/finally example that runs as a plain .mjs file on this Node", async () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(20);
    const script = path.join(app, "build.mjs");
    await writeFile(script, await readmeExample("try-finally.mjs"));
    const { stdout, stderr } = await run(process.execPath, ["--import", "./labels.mjs", script], {
      cwd: app,
    });
    const imageId = stdout.trim();
    expect(stderr).toBe("");
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect((await docker.getImage(imageId).inspect()).Config.Labels).toMatchObject({
      "io.prefect-dockerutils.test-run": TEST_RUN,
    });
    expect(await runImage(imageId)).toBe("Hello from ImageBuilder\n");
  });
});
