/**
 * Start-up time of the `prefect-dockerutils` command line (issue 11), as whole processes:
 * `node -e 0` as the floor, the built bin run by node directly, and the bin run through `npx` the
 * way users start it (from a project that has the package installed).
 *
 *   npm run build && npx tsx bench/cli-startup.ts [--runs 20]
 *
 * Each command runs once untimed (to warm the page cache), then `--runs` times in turn; the
 * table gives the median and the fastest run, in milliseconds.
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const MAIN = path.join(ROOT, "dist/cli/main.js");

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index === -1 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

function timeOnce(command: string, args: readonly string[], cwd: string): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr.toString()}`);
  }
  return elapsed;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const runs = option("--runs", 20);
  // A project where `npx prefect-dockerutils` finds the bin as an installed package's.
  const project = await mkdtemp(path.join(os.tmpdir(), "pdu-cli-startup-"));
  try {
    await mkdir(path.join(project, "node_modules/.bin"), { recursive: true });
    await symlink(ROOT, path.join(project, "node_modules/prefect-dockerutils"));
    await symlink(MAIN, path.join(project, "node_modules/.bin/prefect-dockerutils"));
    // npm makes a bin executable when it installs a package; tsc does not.
    await chmod(MAIN, 0o755);

    const cases: [label: string, command: string, args: string[]][] = [
      ["node -e 0", process.execPath, ["-e", "0"]],
      ["node dist/cli/main.js --version", process.execPath, [MAIN, "--version"]],
      ["node dist/cli/main.js --help", process.execPath, [MAIN, "--help"]],
      ["node dist/cli/main.js parse-ref ubuntu", process.execPath, [MAIN, "parse-ref", "ubuntu"]],
      [
        "npx prefect-dockerutils --version",
        "npx",
        ["--no-install", "prefect-dockerutils", "--version"],
      ],
      ["npx prefect-dockerutils --help", "npx", ["--no-install", "prefect-dockerutils", "--help"]],
    ];
    const samples = new Map<string, number[]>(cases.map(([label]) => [label, []]));
    for (const [, command, args] of cases) timeOnce(command, args, project);
    for (let round = 0; round < runs; round++) {
      for (const [label, command, args] of cases) {
        samples.get(label)?.push(timeOnce(command, args, project));
      }
    }
    console.log(
      `| command (${runs} runs, ${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(1)}) | median ms | fastest ms |`,
    );
    console.log("| --- | ---: | ---: |");
    for (const [label] of cases) {
      const values = samples.get(label) ?? [];
      console.log(
        `| \`${label}\` | ${median(values).toFixed(0)} | ${Math.min(...values).toFixed(0)} |`,
      );
    }
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}

await main();
