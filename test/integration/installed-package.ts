// The package as npm would install it, for tests that run it as users do (plain .mjs files, the
// built bin) on a Node of their choice: dist compiled from src, its package.json, and its
// dependencies (this checkout's node_modules), in a temporary folder, with an app folder whose
// node_modules/prefect-dockerutils is that package.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repository = path.resolve(import.meta.dirname, "../..");

/** Where {@link installPackage} put things. */
export interface InstalledPackage {
  /** The package folder: `dist/`, `package.json`, `node_modules`. */
  readonly pkg: string;
  /** A folder whose `node_modules/prefect-dockerutils` is the package. */
  readonly app: string;
  /** The built bin, `dist/cli/main.js`. */
  readonly bin: string;
  /** Removes everything. */
  remove(): Promise<void>;
}

/**
 * Builds and installs the package in a new temporary folder. The app folder also holds
 * `labels.mjs`: loaded with `--import` before an example, it gives the images the example builds
 * the labels of this run and of a test of their own, as setup-run.ts does in-process.
 */
export async function installPackage(): Promise<InstalledPackage> {
  const root = await mkdtemp(path.join(tmpdir(), "pdu-package-"));
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
    ],
    { cwd: repository },
  );
  await cp(path.join(repository, "package.json"), path.join(pkg, "package.json"));
  await symlink(path.join(repository, "node_modules"), path.join(pkg, "node_modules"));
  const app = path.join(root, "app");
  await mkdir(path.join(app, "node_modules"), { recursive: true });
  await symlink(pkg, path.join(app, "node_modules", "prefect-dockerutils"));
  await writeFile(
    path.join(app, "labels.mjs"),
    `import { randomUUID } from "node:crypto";
import { IMAGE_LABELS } from "prefect-dockerutils";
IMAGE_LABELS["io.prefect-dockerutils.test-run"] = process.env.PDU_TEST_RUN;
IMAGE_LABELS["io.prefect-dockerutils.test-id"] = randomUUID();
`,
  );
  return {
    pkg,
    app,
    bin: path.join(pkg, "dist/cli/main.js"),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
