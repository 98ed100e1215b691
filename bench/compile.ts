/**
 * Compiling the library's `src` and a benchmark's child script for plain `node`, so the measured
 * processes load the library as a user's script does (compiled JavaScript, no tsx).
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * Compiles `src/**` and `bench/<child>.ts` into `outDir`; resolves to the compiled library entry
 * (`src/index.js`) and child.
 */
export function compileForNode(outDir: string, child: string): { library: string; child: string } {
  const source = path.join(ROOT, "src");
  const files = (readdirSync(source, { recursive: true }) as string[])
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => path.join(source, file));
  const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
  const flags = [
    ...["--outDir", outDir, "--rootDir", ROOT, "--target", "ES2022"],
    ...["--module", "nodenext", "--moduleResolution", "nodenext"],
    ...["--lib", "ES2023,ESNext.Disposable", "--types", "node", "--skipLibCheck"],
    ...["--esModuleInterop", "--typeRoots", path.join(ROOT, "node_modules/@types")],
  ];
  try {
    execFileSync(process.execPath, [tsc, ...flags, ...files, path.join(ROOT, "bench", child)], {
      stdio: "ignore",
    });
  } catch {
    // Type errors still emit JavaScript; the files' existence is what counts.
  }
  const compiled = {
    library: path.join(outDir, "src/index.js"),
    child: path.join(outDir, "bench", child.replace(/\.ts$/, ".js")),
  };
  for (const file of [compiled.library, compiled.child]) {
    if (!existsSync(file)) throw new Error(`compiling produced no ${file}`);
  }
  return compiled;
}
