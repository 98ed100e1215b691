/**
 * Start-up time of the `prefect-dockerutils` command line (issue 11), as whole processes, on each
 * Node line: this Node and the lines of scripts/node-lines.mjs (`npm run node-lines` installs
 * them). `node -e 0` is the floor; the built bin runs with Node's compile cache (Node 22.1 and
 * later keep it in the user's cache folder, here a temporary one) and without it
 * (`PREFECT_DOCKERUTILS_NO_COMPILE_CACHE=1`); on this Node, also through `npx` the way users start
 * it (from a project that has the package installed).
 *
 *   npm run bench:cli [-- --runs 20]
 *
 * Each command runs once untimed (to warm the page cache and fill the compile cache), then
 * `--runs` rounds, each running every command on every line in turn, so that a noisy machine
 * slows all of them alike. The tables give, in milliseconds, the median and the fastest run of
 * the wall clock and, where GNU time is installed, the median and the mean of the CPU time
 * (user + system), which a busy machine disturbs much less.
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { NODE_LINES, nodeBinary } from "../scripts/node-lines.mjs";
import { median } from "./timed.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const MAIN = path.join(ROOT, "dist/cli/main.js");

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  const value = index === -1 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

/** GNU time, for the CPU time of each process: less at the mercy of a busy machine than the wall clock. */
const GNU_TIME = "/usr/bin/time";
const hasGnuTime =
  existsSync(GNU_TIME) &&
  spawnSync(GNU_TIME, ["-f", "%U", process.execPath, "-e", "0"], { stdio: "ignore" }).status === 0;

/** One run: the wall-clock and CPU (user + system) milliseconds. */
interface Sample {
  readonly wall: number;
  readonly cpu: number | undefined;
}

function timeOnce(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  cpuFile: string,
): Sample {
  const [file, argv] = hasGnuTime
    ? [GNU_TIME, ["-f", "%U %S", "-o", cpuFile, command, ...args]]
    : [command, [...args]];
  const started = process.hrtime.bigint();
  const result = spawnSync(file, argv, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr.toString()}`);
  }
  if (!hasGnuTime) return { wall, cpu: undefined };
  const [user = 0, system = 0] = readFileSync(cpuFile, "utf8").trim().split(" ").map(Number);
  return { wall, cpu: (user + system) * 1000 };
}

/** One Node to measure on. */
interface Line {
  readonly label: string;
  readonly node: string;
}

function lines(): Line[] {
  const found: Line[] = [{ label: `Node ${process.versions.node} (this)`, node: process.execPath }];
  for (const { line, version } of NODE_LINES) {
    const node = nodeBinary(line);
    if (!existsSync(node)) {
      throw new Error(`${node} is missing: run \`npm run node-lines\` first`);
    }
    if (version !== process.versions.node) found.push({ label: `Node ${version}`, node });
  }
  return found;
}

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const runs = option("--runs", 20);
  const nodes = lines();
  // A project where `npx prefect-dockerutils` finds the bin as an installed package's.
  const project = await mkdtemp(path.join(os.tmpdir(), "pdu-cli-startup-"));
  try {
    await mkdir(path.join(project, "node_modules/.bin"), { recursive: true });
    await symlink(ROOT, path.join(project, "node_modules/prefect-dockerutils"));
    await symlink(MAIN, path.join(project, "node_modules/.bin/prefect-dockerutils"));
    // npm makes a bin executable when it installs a package; tsc does not.
    await chmod(MAIN, 0o755);
    const base: NodeJS.ProcessEnv = { ...process.env };
    delete base.NODE_COMPILE_CACHE;
    delete base.NODE_DISABLE_COMPILE_CACHE;
    const cached = { ...base, XDG_CACHE_HOME: path.join(project, "cache") };
    const uncached = { ...base, PREFECT_DOCKERUTILS_NO_COMPILE_CACHE: "1" };

    type Case = [label: string, args: (node: string) => [string, string[]], env: NodeJS.ProcessEnv];
    const perLine: Case[] = [
      ["node -e 0", (node) => [node, ["-e", "0"]], base],
      ["--version", (node) => [node, [MAIN, "--version"]], base],
      ["--help, no compile cache", (node) => [node, [MAIN, "--help"]], uncached],
      ["--help, compile cache", (node) => [node, [MAIN, "--help"]], cached],
      [
        "parse-ref ubuntu, no compile cache",
        (node) => [node, [MAIN, "parse-ref", "ubuntu"]],
        uncached,
      ],
      ["parse-ref ubuntu, compile cache", (node) => [node, [MAIN, "parse-ref", "ubuntu"]], cached],
    ];
    const npx: Case[] = [
      [
        "npx … --version",
        () => ["npx", ["--no-install", "prefect-dockerutils", "--version"]],
        base,
      ],
      ["npx … --help", () => ["npx", ["--no-install", "prefect-dockerutils", "--help"]], cached],
    ];
    const jobs = [
      ...nodes.flatMap((line) => perLine.map((job) => ({ line, job }))),
      ...npx.map((job) => ({ line: nodes[0] as Line, job })),
    ];
    const cpuFile = path.join(project, "cpu");
    const samples = new Map<string, Sample[]>();
    const key = (line: Line, label: string) => `${line.label}\u0000${label}`;
    for (const { line, job } of jobs) {
      const [command, args] = job[1](line.node);
      timeOnce(command, args, project, job[2], cpuFile);
      samples.set(key(line, job[0]), []);
    }
    for (let round = 0; round < runs; round++) {
      for (const { line, job } of jobs) {
        const [command, args] = job[1](line.node);
        samples.get(key(line, job[0]))?.push(timeOnce(command, args, project, job[2], cpuFile));
      }
    }
    // The CPU times come in clock ticks (10 ms): their mean tells more than their fastest.
    const cell = (
      line: Line,
      label: string,
      of: (sample: Sample) => number | undefined,
      second: "fastest" | "mean",
    ) => {
      const values = (samples.get(key(line, label)) ?? []).map(of);
      if (values.length === 0 || values.some((value) => value === undefined)) return "";
      const numbers = values as number[];
      const other =
        second === "fastest"
          ? Math.min(...numbers)
          : numbers.reduce((sum, value) => sum + value, 0) / numbers.length;
      return `${median(numbers).toFixed(0)} (${other.toFixed(0)})`;
    };
    const table = (
      title: string,
      of: (sample: Sample) => number | undefined,
      second: "fastest" | "mean",
    ) => {
      console.log("");
      console.log(`${title}, median (${second}) ms of ${runs} alternating runs:`);
      console.log("");
      console.log(`| command | ${nodes.map((line) => line.label).join(" | ")} |`);
      console.log(`| --- |${nodes.map(() => " ---: |").join("")}`);
      for (const [label] of [...perLine, ...npx]) {
        const cells = nodes.map((line) => cell(line, label, of, second));
        console.log(`| \`${label}\` | ${cells.join(" | ")} |`);
      }
    };
    console.log(
      `${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(1)} at the end, ${new Date().toISOString().slice(0, 10)}`,
    );
    table("Wall clock", (sample) => sample.wall, "fastest");
    if (hasGnuTime) table("CPU time (user + system, GNU time)", (sample) => sample.cpu, "mean");
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}

await main();
