// The published package: built, packed with npm, installed into an empty project, and run with
// npx, as a user gets it.
import { execFile } from "node:child_process";
import { cp, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { emptyDir } from "../cli-run.js";
import { contexts, docker, uniqueTag } from "../support.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../../..");

/** What {@link packAndInstall} made: npm pack's report and the consumer project. */
interface Installed {
  readonly info: { filename: string; files: { path: string }[] };
  readonly project: string;
}

/**
 * Builds the package, packs it with npm and installs the tarball into an empty project, as a
 * user gets it. Its folder is removed when the test that calls it finishes.
 */
async function packAndInstall(): Promise<Installed> {
  const work = await emptyDir("pdu-cli-package-");
  const pkg = path.join(work, "pkg");
  await mkdir(pkg);
  // `npm run build`, into the copy.
  await run(process.execPath, [
    path.join(ROOT, "scripts/build.mjs"),
    "--out-dir",
    path.join(pkg, "dist"),
  ]);
  for (const file of ["package.json", "LICENSE", "README.md"]) {
    await cp(path.join(ROOT, file), path.join(pkg, file));
  }
  const { stdout: packed } = await run("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: pkg,
  });
  const [info] = JSON.parse(packed) as [Installed["info"]];
  const project = path.join(work, "project");
  await mkdir(project);
  await writeFile(
    path.join(project, "package.json"),
    '{ "name": "user-project", "private": true }\n',
  );
  await run(
    "npm",
    [
      "install",
      "--prefer-offline",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      path.join(work, info.filename),
    ],
    { cwd: project },
  );
  return { info, project };
}

describe("the prefect-dockerutils package", () => {
  it("installs a prefect-dockerutils bin that npx runs and builds with, without dockerode, with the LICENSE", async () => {
    const { info, project } = await packAndInstall();
    const files = info.files.map((file) => file.path);
    expect(files).toContain("LICENSE");
    expect(files).toContain("dist/cli/main.js");
    expect(files).toContain("dist/index.js");
    expect(files.some((file) => file.startsWith("src/") || file.startsWith("test/"))).toBe(false);
    const installed = path.join(project, "node_modules/prefect-dockerutils");
    // A plain install: dockerode is an optional peer dependency, not installed.
    await expect(
      readFile(path.join(project, "node_modules/dockerode/package.json")),
    ).rejects.toThrow();
    expect((await readFile(path.join(installed, "dist/cli/main.js"), "utf8")).split("\n")[0]).toBe(
      "#!/usr/bin/env node",
    );
    expect(await readFile(path.join(installed, "LICENSE"), "utf8")).toContain(
      "Apache License\n                           Version 2.0, January 2004",
    );

    const version = (
      JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as {
        version: string;
      }
    ).version;
    const npx = (args: string[]) =>
      run("npx", ["--no-install", "prefect-dockerutils", ...args], { cwd: project });
    expect((await npx(["--version"])).stdout).toBe(`${version}\n`);
    expect((await npx(["--help"])).stdout).toMatch(
      /Usage: prefect-dockerutils \[options\] \[command\]/,
    );
    expect(JSON.parse((await npx(["parse-ref", "ubuntu:24.04"])).stdout)).toMatchObject({
      registry: "docker.io",
      path: "library/ubuntu",
      tag: "24.04",
    });
    const failed = await npx(["parse-ref", "Nope"]).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 2 });

    // Building with several -t, which tags through the engine without dockerode.
    const [first, second] = [
      uniqueTag("localhost/pdu-cli-package"),
      uniqueTag("localhost/pdu-cli-package"),
    ];
    const built = await npx([
      "build",
      "-q",
      "-t",
      first,
      "-t",
      second,
      path.join(contexts, "tiny"),
    ]);
    const imageId = built.stdout.trim();
    expect((await docker.getImage(first).inspect()).Id).toBe(imageId);
    expect((await docker.getImage(second).inspect()).Id).toBe(imageId);
  }, 300_000);

  it("ships source maps that resolve: every source is inlined or in the package, and stack traces show TypeScript", async () => {
    const { project } = await packAndInstall();
    const installed = path.join(project, "node_modules/prefect-dockerutils");
    const maps = (await readdir(installed, { recursive: true }))
      .map(String)
      .filter((file) => file.endsWith(".map"));
    expect(maps).toContain("dist/index.js.map");
    const unresolved: string[] = [];
    for (const file of maps) {
      const map = JSON.parse(await readFile(path.join(installed, file), "utf8")) as {
        sources: string[];
        sourceRoot?: string;
        sourcesContent?: (string | null)[];
      };
      for (const [index, source] of map.sources.entries()) {
        if (typeof map.sourcesContent?.[index] === "string") continue;
        const target = path.resolve(
          path.dirname(path.join(installed, file)),
          map.sourceRoot ?? "",
          source,
        );
        if (!(await stat(target).catch(() => undefined))?.isFile()) {
          unresolved.push(`${file} -> ${source}`);
        }
      }
    }
    expect(unresolved).toEqual([]);

    // An error from the installed package, its stack mapped by Node to the TypeScript it came
    // from: the line the trace names is the throw, found in the map's own copy of the source.
    const { stdout } = await run(
      process.execPath,
      [
        "--enable-source-maps",
        "--input-type=module",
        "-e",
        `import { parseImageReference } from "prefect-dockerutils";
try { parseImageReference("Nope"); } catch (error) { console.log(error.stack); }`,
      ],
      { cwd: project },
    );
    const frame = /\(?(\S*?src\/([\w/-]+\.ts)):(\d+):\d+\)?/.exec(stdout);
    expect(frame, stdout).not.toBeNull();
    const [, , source, line] = frame as unknown as [string, string, string, string];
    // The bundle's maps hold many sources each: the one whose sources include the frame's file.
    let text: string | undefined;
    for (const file of maps) {
      const map = JSON.parse(await readFile(path.join(installed, file), "utf8")) as {
        sources: string[];
        sourcesContent: string[];
      };
      const index = map.sources.findIndex((s) => s.endsWith(`src/${source}`));
      if (index !== -1) text = map.sourcesContent[index];
    }
    expect(text, `no map holds src/${source}`).toBeDefined();
    expect(text?.split("\n")[Number(line) - 1]).toMatch(/throw|Error\(/);
  }, 300_000);
});
