// The package as npm would install it, for tests that run it as users do (plain .mjs files, the
// built bin) on a Node of their choice: dist as `npm run build` makes it, its package.json, and
// its dependencies (this checkout's node_modules), with an app folder whose
// node_modules/prefect-dockerutils is that package.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { inject } from "vitest";

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
}

function installedAt(root: string): InstalledPackage {
  const pkg = path.join(root, "pkg");
  return { pkg, app: path.join(root, "app"), bin: path.join(pkg, "dist/cli/main.js") };
}

/**
 * The package, built and installed once per test run (the files that need it share it: one
 * build, not one per file), in the run's own folder, which the global teardown removes. The app
 * folder also holds `labels.mjs`: loaded with `--import` before an example, it gives the images
 * the example builds the labels of this run and of a test of their own, as setup-run.ts does
 * in-process.
 */
export async function installPackage(): Promise<InstalledPackage> {
  // The run's folder (global-setup.ts): its TMPDIR's parent.
  const shared = path.join(path.dirname(inject("testTmp")), "package");
  if (existsSync(path.join(shared, "complete"))) return installedAt(shared);
  const root = await mkdtemp(`${shared}-`);
  const { pkg, app } = installedAt(root);
  await mkdir(pkg);
  // `npm run build`'s bundles, without the declarations nothing here reads.
  await run(
    process.execPath,
    [
      path.join(repository, "scripts/build.mjs"),
      "--out-dir",
      path.join(pkg, "dist"),
      "--no-declarations",
    ],
    { cwd: repository },
  );
  await cp(path.join(repository, "package.json"), path.join(pkg, "package.json"));
  await symlink(path.join(repository, "node_modules"), path.join(pkg, "node_modules"));
  await mkdir(path.join(app, "node_modules"), { recursive: true });
  // Relative: the folder is renamed once complete.
  await symlink("../../pkg", path.join(app, "node_modules", "prefect-dockerutils"));
  await writeFile(
    path.join(app, "labels.mjs"),
    `import { randomUUID } from "node:crypto";
import { IMAGE_LABELS } from "prefect-dockerutils";
IMAGE_LABELS["io.prefect-dockerutils.test-run"] = process.env.PDU_TEST_RUN;
IMAGE_LABELS["io.prefect-dockerutils.test-id"] = randomUUID();
`,
  );
  await writeFile(path.join(root, "complete"), "");
  // Files running at the same time may both have built it: the first rename wins, and the
  // others use the winner's.
  try {
    await rename(root, shared);
  } catch {
    await rm(root, { recursive: true, force: true });
  }
  return installedAt(shared);
}
