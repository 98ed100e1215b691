// `npm run build`: the published dist/, as users load it. One bundled ES module per entry point
// of package.json (`.`, `./testing`, `./steps`, `./dockerode`, `./engine`, the bin) instead of a module per
// source file: Node resolves, reads and compiles each module file on its own, and loading about
// 150 of them was most of `import "prefect-dockerutils"` (issue 20: 70 ms of CPU and 16 MiB
// over `node -e 0`, against 30 ms and 9 MiB bundled). What only some operations need (BuildKit
// and its session, the command line's commands) stays behind the `await import()`s of src/ as
// chunks of their own (dist/chunks/), loaded at first use as before.
//
// Dependencies stay dependencies (npm installs them once for every package that shares them),
// but one: see BUNDLED. A bare import of anything that is neither is an error, not a silent copy.
//
// The declarations come from tsc (tsconfig.build.json, declarations only), file by file as
// before. The JavaScript's maps carry their TypeScript inline, as tsc's did, so stack traces
// (node --enable-source-maps, error trackers) show the real lines.
//
//   node scripts/build.mjs [--out-dir <dir>] [--no-declarations]
//
// The folder is emptied first: a file left from an older build would ship otherwise.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");

/** The entry points, by their path in dist/ (without `.js`): package.json's exports and bin. */
export const ENTRY_POINTS = {
  index: "src/index.ts",
  testing: "src/testing.ts",
  steps: "src/steps.ts",
  dockerode: "src/dockerode.ts",
  "engine-api": "src/engine-api.ts",
  "cli/main": "src/cli/main.ts",
};

/**
 * Packages copied into the bundle, so a devDependency: `@bufbuild/protobuf`, the runtime of the
 * generated BuildKit codecs. They use three of its files (the binary reader and writer, varints,
 * UTF-8), but its `wire` entry loads twenty; bundled, the first BuildKit build of a process
 * spends 12 ms less CPU and 2 MiB less memory, and an install 2.9 MB less disk. It is pinned
 * exactly anyway (the generated code is made for that version). Its license headers are kept
 * (as legal comments at the end of the chunk that holds its code).
 */
export const BUNDLED = ["@bufbuild/protobuf"];

/** `lodash/fp` → `lodash`, `@scope/name/sub` → `@scope/name`. */
function packageOf(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/**
 * Leaves the package's dependencies and Node's modules to `import`, bundles {@link BUNDLED}
 * with their license headers, and refuses any other package.
 */
function dependencies(root) {
  const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  const installed = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const builtins = new Set(builtinModules);
  return {
    name: "dependencies",
    setup(esbuild) {
      esbuild.onResolve({ filter: /^[^./]/ }, ({ path: specifier, importer }) => {
        if (specifier.startsWith("node:") || builtins.has(specifier)) {
          return { path: specifier, external: true };
        }
        const name = packageOf(specifier);
        if (installed.has(name)) return { path: specifier, external: true };
        if (BUNDLED.includes(name)) return undefined;
        return {
          errors: [
            {
              text: `${importer} imports ${specifier}: ${name} is not a dependency or peer dependency in package.json (nor bundled: scripts/build.mjs BUNDLED)`,
            },
          ],
        };
      });
      // A bundled file's leading `//` comment block (its copyright and license) as a legal
      // comment, which esbuild keeps.
      esbuild.onLoad({ filter: /[\\/]node_modules[\\/].*\.js$/ }, ({ path: file }) => {
        const text = readFileSync(file, "utf8");
        const header = /^(?:\/\/.*\n)+/.exec(text)?.[0];
        if (header === undefined || !/copyright|license/i.test(header)) {
          return { contents: text, loader: "js" };
        }
        const comment = header
          .trimEnd()
          .split("\n")
          .map((line) => line.replace(/^\/\/ ?/, "").replaceAll("*/", "* /"))
          .join("\n * ");
        return {
          contents: `/*!\n * ${comment}\n */\n${text.slice(header.length)}`,
          loader: "js",
        };
      });
    },
  };
}

/**
 * Builds the package into `outDir`: the bundles, their maps and (unless `declarations` is false)
 * the declarations. `root` is the checkout whose src/ is built.
 */
export async function buildPackage({
  outDir = path.join(ROOT, "dist"),
  declarations = true,
  root = ROOT,
} = {}) {
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: ENTRY_POINTS,
    outdir: outDir,
    // At dist/chunks/, two levels below the package as dist/cli/main.js is: the command line's
    // modules find package.json at ../../package.json from either.
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    // The oldest Node of package.json's engines.
    target: "node20.12",
    plugins: [dependencies(root)],
    legalComments: "eof",
    sourcemap: "linked",
    sourcesContent: true,
    logLevel: "warning",
    metafile: true,
  });
  if (declarations) {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, "node_modules/typescript/bin/tsc"),
        "-p",
        path.join(root, "tsconfig.build.json"),
        "--outDir",
        outDir,
      ],
      { stdio: "inherit", cwd: root },
    );
  }
  return result.metafile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      "out-dir": { type: "string" },
      "no-declarations": { type: "boolean", default: false },
    },
  });
  await buildPackage({
    outDir: path.resolve(values["out-dir"] ?? path.join(ROOT, "dist")),
    declarations: !values["no-declarations"],
  });
}
