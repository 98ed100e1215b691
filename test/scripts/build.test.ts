// `npm run build` (scripts/build.mjs): the bundles users load. Built once into a temporary folder
// (without the declarations, which tsc makes as before and the package tests check).
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPackage, ENTRY_POINTS } from "../../scripts/build.mjs";

let work: string;
let out: string;
let meta: Metafile;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "pdu-build-"));
  out = path.join(work, "dist");
  await mkdir(path.join(out, "prefect"), { recursive: true });
  // What an older build left: it must not ship with the new one.
  await writeFile(path.join(out, "prefect", "build-image.js"), "stale");
  meta = await buildPackage({ outDir: out, declarations: false });
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** The output file (relative to the out folder) of a metafile key. */
const relative = (key: string) => path.relative(out, path.resolve(process.cwd(), key));

/** The outputs an output loads with static imports, itself included. */
function staticClosure(key: string, seen = new Set<string>()): Set<string> {
  if (seen.has(key)) return seen;
  seen.add(key);
  for (const found of meta.outputs[key]?.imports ?? []) {
    if (found.kind === "import-statement" && !found.external) staticClosure(found.path, seen);
  }
  return seen;
}

function outputOf(file: string): string {
  const key = Object.keys(meta.outputs).find((candidate) => relative(candidate) === file);
  if (key === undefined) throw new Error(`no output ${file}`);
  return key;
}

describe("scripts/build.mjs", () => {
  it("empties the folder first: a file of an older build does not ship", async () => {
    expect(await readdir(out)).not.toContain("prefect");
  });

  it("makes one module per entry point, the lazy parts as chunks, each with a map that holds its sources", async () => {
    const files = (await readdir(out, { recursive: true })).map(String);
    for (const entry of Object.keys(ENTRY_POINTS)) {
      expect(files).toContain(`${entry}.js`);
      expect(files).toContain(`${entry}.js.map`);
    }
    const scripts = files.filter((file) => file.endsWith(".js"));
    expect(scripts.every((file) => !file.includes("/") || /^(chunks|cli)\//.test(file))).toBe(true);
    for (const file of scripts) {
      const map = JSON.parse(await readFile(path.join(out, `${file}.map`), "utf8")) as {
        sources: string[];
        sourcesContent: string[];
      };
      expect(map.sourcesContent).toHaveLength(map.sources.length);
      expect(map.sourcesContent.every((text) => typeof text === "string")).toBe(true);
    }
    expect((await readFile(path.join(out, "cli/main.js"), "utf8")).split("\n")[0]).toBe(
      "#!/usr/bin/env node",
    );
  });

  it("keeps BuildKit, its codecs and the command line's commands out of what the entry points load at import", () => {
    const lazy = ["src/buildkit/build-with-buildkit.ts", "src/cli/run-cli.ts"];
    for (const entry of ["index.js", "steps.js", "testing.js", "cli/main.js"]) {
      const loaded = staticClosure(outputOf(entry));
      const inputs = [...loaded].flatMap((key) => Object.keys(meta.outputs[key]?.inputs ?? {}));
      expect(inputs.filter((input) => lazy.includes(input))).toEqual([]);
      expect(inputs.filter((input) => input.includes("/generated/"))).toEqual([]);
    }
  });

  it("bundles @bufbuild/protobuf's wire code with its license headers, and leaves the dependencies to npm", async () => {
    const externals = new Set(
      Object.values(meta.outputs).flatMap((output) =>
        output.imports.filter((found) => found.external).map((found) => found.path),
      ),
    );
    const packages = [...externals].filter((name) => !name.startsWith("node:"));
    expect(packages.some((name) => name.startsWith("@bufbuild/"))).toBe(false);
    expect(packages).toContain("commander");
    const manifest = JSON.parse(await readFile("package.json", "utf8")) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    const declared = [
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
    ];
    expect(
      packages.filter(
        (name) => !declared.some((dep) => name === dep || name.startsWith(`${dep}/`)),
      ),
    ).toEqual([]);
    const holder = Object.keys(meta.outputs).find((key) =>
      Object.keys(meta.outputs[key]?.inputs ?? {}).some((input) => input.includes("@bufbuild")),
    );
    expect(holder).toBeDefined();
    const text = await readFile(path.join(out, relative(holder as string)), "utf8");
    expect(text).toContain("Copyright 2021-2026 Buf Technologies, Inc.");
    expect(text).toContain("Licensed under the Apache License, Version 2.0");
  });

  it("refuses a bare import of a package that is neither a dependency nor bundled", async () => {
    const root = path.join(work, "checkout");
    for (const [entry, source] of Object.entries(ENTRY_POINTS)) {
      await mkdir(path.dirname(path.join(root, source)), { recursive: true });
      await writeFile(
        path.join(root, source),
        entry === "index" ? 'export { default } from "left-pad";\n' : "export {};\n",
      );
    }
    await writeFile(path.join(root, "package.json"), '{ "dependencies": { "debug": "4" } }\n');
    await expect(
      buildPackage({ root, outDir: path.join(root, "dist"), declarations: false }),
    ).rejects.toThrow(/left-pad is not a dependency or peer dependency/);
  });
});
