/**
 * Compiling a checkout's `src` (this one's, or a `--baseline` checkout's) and a benchmark's child
 * script for plain `node`, so the measured processes load the library as a user's script does
 * (compiled JavaScript, no tsx).
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * Compiles `root`'s `src/**` (and, given, this checkout's `bench/<child>.ts`) into `outDir`,
 * which should be inside `root` so that the compiled library resolves `root`'s own dependencies.
 * Resolves to the compiled library entry (`src/index.js`) and child (`""` without one).
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
  const files = (readdirSync(source, { recursive: true }) as string[])
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => path.join(source, file));
  if (child !== undefined) {
    if (root !== ROOT) throw new Error("a child script is compiled with this checkout only");
    files.push(path.join(ROOT, "bench", child));
  }
  const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
  const flags = [
    ...["--outDir", outDir, "--rootDir", root, "--target", "ES2022"],
    ...["--module", "nodenext", "--moduleResolution", "nodenext"],
    ...["--lib", "ES2023,ESNext.Disposable", "--types", "node", "--skipLibCheck"],
    ...["--esModuleInterop", "--typeRoots", path.join(ROOT, "node_modules/@types")],
  ];
  try {
    execFileSync(process.execPath, [tsc, ...flags, ...files], { stdio: "ignore" });
  } catch {
    // Type errors still emit JavaScript; the files' existence is what counts.
  }
  const compiled = {
    library: path.join(outDir, "src/index.js"),
    child: child === undefined ? "" : path.join(outDir, "bench", child.replace(/\.ts$/, ".js")),
  };
  for (const file of [compiled.library, compiled.child].filter(Boolean)) {
    if (!existsSync(file)) throw new Error(`compiling produced no ${file}`);
  }
  return compiled;
}
