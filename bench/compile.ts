/**
 * Building a checkout's library (this one's, or a `--baseline` checkout's) and a benchmark's child
 * script for plain `node`, so the measured processes load the library as a user's script does:
 * what `npm run build` makes, compiled JavaScript, no tsx.
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * `root`'s commit, for the report, with a note when its `src` has uncommitted changes (what is
 * measured is then not that commit).
 */
export function checkoutLabel(root: string): string {
  const git = (args: string[]) =>
    execFileSync("git", ["-C", root, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  try {
    const commit = git(["rev-parse", "--short", "HEAD"]);
    const dirty = git(["status", "--porcelain", "--", "src", "scripts/build.mjs"]) !== "";
    return `${root} at ${commit}${dirty ? " with uncommitted changes" : ""}`;
  } catch {
    return root;
  }
}

/**
 * Builds `root`'s library into `outDir` as that checkout publishes it, and compiles this
 * checkout's `bench/<child>` (given one) beside it. `outDir` should be inside `root`, so that the
 * library resolves `root`'s own dependencies. Resolves to the library entry (`index.js`) and the
 * child (`""` without one).
 *
 * A checkout with `scripts/build.mjs` is built by it (the bundle users get, without the
 * declarations nobody loads here); an older one, whose package shipped tsc's output file by
 * file, is compiled with tsc the same way.
 */
export function compileForNode(
  outDir: string,
  child?: string,
  root: string = ROOT,
): { library: string; child: string } {
  const source = path.join(root, "src");
  if (!existsSync(path.join(source, "index.ts"))) {
    throw new Error(`${root}: no src/index.ts (give a checkout of this library)`);
  }
  let library: string;
  const bundler = path.join(root, "scripts/build.mjs");
  if (existsSync(bundler)) {
    library = path.join(outDir, "dist", "index.js");
    execFileSync(
      process.execPath,
      [bundler, "--out-dir", path.dirname(library), "--no-declarations"],
      { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
    );
  } else {
    const files = (readdirSync(source, { recursive: true }) as string[])
      .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
      .map((file) => path.join(source, file));
    tsc(files, outDir, root);
    library = path.join(outDir, "src", "index.js");
  }
  let compiledChild = "";
  if (child !== undefined) {
    if (root !== ROOT) throw new Error("a child script is compiled with this checkout only");
    tsc([path.join(ROOT, "bench", child)], outDir, ROOT);
    compiledChild = path.join(outDir, "bench", child.replace(/\.ts$/, ".js"));
  }
  for (const file of [library, compiledChild].filter(Boolean)) {
    if (!existsSync(file)) throw new Error(`compiling produced no ${file}`);
  }
  return { library, child: compiledChild };
}

/** Compiles `files` (below `root`) into `outDir`, keeping their paths relative to `root`. */
function tsc(files: string[], outDir: string, root: string): void {
  const flags = [
    ...["--outDir", outDir, "--rootDir", root, "--target", "ES2022"],
    ...["--module", "nodenext", "--moduleResolution", "nodenext"],
    ...["--lib", "ES2023,ESNext.Disposable", "--types", "node", "--skipLibCheck"],
    ...["--esModuleInterop", "--typeRoots", path.join(ROOT, "node_modules/@types")],
  ];
  try {
    execFileSync(
      process.execPath,
      [path.join(ROOT, "node_modules/typescript/bin/tsc"), ...flags, ...files],
      { stdio: "ignore" },
    );
  } catch {
    // Type errors (e.g. another checkout's dependencies) still emit JavaScript; the files'
    // existence is what counts.
  }
}

/**
 * Another checkout of the library (`--baseline`, `--lib`; or its `src`, as older versions of the
 * benchmarks took), built by {@link compileForNode} into its own `.bench-work/<into>`, so that it
 * loads its own dependencies; with the label its reports give it.
 */
export function compileCheckout(given: string, into: string): { library: string; label: string } {
  let root = path.resolve(given);
  if (!existsSync(path.join(root, "src", "index.ts")) && existsSync(path.join(root, "index.ts"))) {
    root = path.dirname(root);
  }
  const { library } = compileForNode(path.join(root, ".bench-work", into), undefined, root);
  return { library, label: checkoutLabel(root) };
}
