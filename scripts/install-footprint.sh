#!/usr/bin/env bash
# A plain install as a user gets it: builds and packs the package as `npm publish` would, installs
# the tarball with npm into an empty project, and prints how many packages came with it, their
# size, and every package with an install script (with npm's own install-script warnings).
#
#   bash scripts/install-footprint.sh
#
# Needs the npm registry (or npm's cache) and `npm ci` done here (for tsc).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdu-footprint-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

mkdir "$WORK/package" "$WORK/project"
cp "$ROOT/package.json" "$ROOT/README.md" "$ROOT/LICENSE" "$WORK/package/"
node "$ROOT/scripts/build.mjs" --out-dir "$WORK/package/dist"
(cd "$WORK/package" && npm pack --silent --pack-destination "$WORK" >/dev/null)
tarball=$(ls "$WORK"/*.tgz)

cd "$WORK/project"
printf '{ "name": "footprint", "private": true }\n' >package.json
npm install --no-audit --no-fund --no-update-notifier "$tarball" >"$WORK/install.log" 2>&1 || {
  cat "$WORK/install.log" >&2
  exit 1
}

node - "$WORK/install.log" <<'NODE'
const { readdirSync, readFileSync, statSync } = require("node:fs");
const path = require("node:path");
// Every package folder under node_modules (nested ones included), with its package.json.
const packages = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".")) continue;
    const full = path.join(dir, name);
    if (name.startsWith("@")) { walk(full); continue; }
    const manifest = path.join(full, "package.json");
    try { packages.push({ dir: full, json: JSON.parse(readFileSync(manifest, "utf8")) }); } catch { continue; }
    try { walk(path.join(full, "node_modules")); } catch {}
  }
};
walk("node_modules");
let bytes = 0;
const size = (p) => {
  const stat = statSync(p, { throwIfNoEntry: false });
  if (!stat) return;
  if (stat.isDirectory()) for (const name of readdirSync(p)) size(path.join(p, name));
  else bytes += stat.size;
};
size("node_modules");
const hooks = ["preinstall", "install", "postinstall"];
const scripted = packages
  .filter(({ json }) => hooks.some((hook) => json.scripts?.[hook]) || json.gypfile)
  .map(({ json }) => `${json.name}@${json.version}`);
const log = readFileSync(process.argv[2], "utf8");
const added = /added (\d+) packages?/.exec(log)?.[1];
const warnings = log.split("\n").filter((line) => /install-script|gyp/i.test(line));
console.log(`npm ${require("node:child_process").execSync("npm -v").toString().trim()}, node ${process.version}`);
console.log(`packages: ${packages.length} (npm: added ${added ?? "?"})`);
const disk = require("node:child_process").execSync("du -sk node_modules").toString().split("\t")[0];
console.log(
  `installed size: ${(bytes / 1e6).toFixed(1)} MB of files (${(bytes / 2 ** 20).toFixed(1)} MiB), ${(Number(disk) / 1024).toFixed(1)} MiB on disk (du)`,
);
console.log(`packages with install scripts: ${scripted.length ? scripted.join(", ") : "none"}`);
console.log(`npm install-script warnings: ${warnings.length ? `\n  ${warnings.join("\n  ")}` : "none"}`);
console.log(`packages: ${packages.map(({ json }) => json.name).sort().join(", ")}`);
NODE
