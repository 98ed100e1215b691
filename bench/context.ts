/**
 * Benchmark of the build context engine against the Docker CLI and GNU tar (issue 3).
 *
 *   npx tsx bench/context.ts [--rounds 5] [--only small-20k,big-1g,ignored-100k,copy-20k]
 *
 * Needs the engine and busybox:latest from `scripts/test-services.sh`, plus GNU tar and
 * `/usr/bin/time` (Debian packages `tar` and `time`). It makes the workloads in a temporary
 * folder, warms the engine's build cache and the page cache with one untimed round, then runs
 * `--rounds` rounds alternating who goes first, and prints medians as a markdown table.
 *
 * Each client runs in its own process so its CPU time and peak RSS are its own. Our numbers come
 * from inside that process (createBuildContext to the end of the build, `process.cpuUsage`,
 * `process.resourceUsage().maxRSS`): Node's start-up is left out, as it is for a library that
 * runs in an existing program. The CLI and tar are timed as whole processes (`/usr/bin/time`).
 * @module
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ChildResult } from "./child.js";
import { createWorkloads, type Workload } from "./workloads.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORK = path.join(ROOT, ".bench-work");
const CHILD = path.join(WORK, "dist", "bench", "child.js");
const TAG = "localhost/pdu-bench";

interface Sample {
  wallMs: number;
  cpuMs: number;
  maxRssKiB: number;
}

type Measure = "ours-build" | "cli-build" | "ours-pack" | "tar-pack";

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

/** Runs `command` under /usr/bin/time; resolves to wall time, CPU, max RSS and stdout. */
function timed(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Sample & { stdout: string }> {
  const report = path.join(WORK, `time-${process.pid}.txt`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn("/usr/bin/time", ["-o", report, "-f", "%U %S %M", command, ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", async (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${stderr}`));
        return;
      }
      const [user, system, rss] = (await readFile(report, "utf8")).trim().split(/\s+/).map(Number);
      resolve({
        wallMs,
        cpuMs: ((user ?? 0) + (system ?? 0)) * 1000,
        maxRssKiB: rss ?? 0,
        stdout,
      });
    });
  });
}

async function ours(mode: "build" | "pack", workload: Workload): Promise<Sample> {
  const args = [
    CHILD,
    mode,
    workload.context,
    JSON.stringify(workload.overlays),
    `${TAG}:${workload.name}-ours`,
  ];
  // Like tar's, our tar goes through a pipe to cat; the child reports its numbers on stderr.
  const quoted = args.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(" ");
  await timed("sh", [
    "-c",
    mode === "pack"
      ? `'${process.execPath}' ${quoted} 2>${WORK}/child.json | cat >/dev/null`
      : `'${process.execPath}' ${quoted} 2>${WORK}/child.json`,
  ]);
  const lines = (await readFile(`${WORK}/child.json`, "utf8")).trim().split("\n");
  const inner = JSON.parse(lines.pop() ?? "{}") as ChildResult;
  return { wallMs: inner.wallMs, cpuMs: inner.cpuMs, maxRssKiB: inner.maxRssKiB };
}

function cliBuild(workload: Workload): Promise<Sample> {
  return timed(
    "docker",
    ["build", "-q", "-t", `${TAG}:${workload.name}-cli`, workload.cliContext],
    {
      ...process.env,
      DOCKER_BUILDKIT: "0",
    },
  );
}

function tarPack(workload: Workload): Promise<Sample> {
  // GNU tar skips reading files when its archive is /dev/null: pipe it through cat instead.
  // The .dockerignore of the ignored-100k workload is `node_modules`: tar gets the same exclusion.
  const exclude = workload.name === "ignored-100k" ? "--exclude=./node_modules" : "";
  return timed("sh", [
    "-c",
    `/usr/bin/time -o ${WORK}/tar-time.txt -f '%U %S %M' tar -cf - -C '${workload.cliContext}' ${exclude} . | cat >/dev/null`,
  ]).then(async (run) => {
    const [user, system, rss] = (await readFile(`${WORK}/tar-time.txt`, "utf8"))
      .trim()
      .split(/\s+/)
      .map(Number);
    return { wallMs: run.wallMs, cpuMs: ((user ?? 0) + (system ?? 0)) * 1000, maxRssKiB: rss ?? 0 };
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const docker = (args: string[]) => {
    try {
      return execFileSync("docker", args, { encoding: "utf8" }).trim();
    } catch {
      return "?";
    }
  };
  const tar = execFileSync("tar", ["--version"], { encoding: "utf8" }).split("\n")[0];
  return [
    `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Linux ${os.release()}`,
    `Node ${process.version}; Docker engine ${docker(["version", "--format", "{{.Server.Version}}"])} (classic builder, storage driver ${docker(["info", "--format", "{{.Driver}}"])}), CLI ${docker(["version", "--format", "{{.Client.Version}}"])}; ${tar}`,
  ].join("\n");
}

async function main(): Promise<void> {
  const rounds = Number(option("rounds") ?? 5);
  const only = option("only");
  execFileSync("docker", ["image", "inspect", "busybox:latest"], { stdio: "ignore" });

  process.stderr.write("compiling the library for plain node (bench/tsconfig.json)…\n");
  await rm(path.join(WORK, "dist"), { recursive: true, force: true });
  try {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, "node_modules/typescript/bin/tsc"),
        "-p",
        path.join(ROOT, "bench/tsconfig.json"),
      ],
      {
        stdio: "inherit",
      },
    );
  } catch {
    // Type errors elsewhere still emit JavaScript; the child's existence is what counts.
  }
  await readFile(CHILD);

  const scratch = await mkdtemp(path.join(os.tmpdir(), "pdu-bench-"));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  process.once("SIGINT", () => {
    void cleanup().finally(() => process.exit(130));
  });
  try {
    process.stderr.write(`making workloads in ${scratch}…\n`);
    const workloads = await createWorkloads(scratch, only ? new Set(only.split(",")) : undefined);
    const samples = new Map<string, Sample[]>();
    const record = (workload: Workload, measure: Measure, sample: Sample) => {
      const key = `${workload.name}/${measure}`;
      samples.set(key, [...(samples.get(key) ?? []), sample]);
    };

    for (let round = 0; round <= rounds; round++) {
      const warmup = round === 0;
      process.stderr.write(
        warmup ? "warm-up round (not counted)…\n" : `round ${round}/${rounds}…\n`,
      );
      for (const workload of workloads) {
        const steps: [Measure, () => Promise<Sample>][] = [
          ["ours-build", () => ours("build", workload)],
          ["cli-build", () => cliBuild(workload)],
          ["ours-pack", () => ours("pack", workload)],
          ["tar-pack", () => tarPack(workload)],
        ];
        // Alternate who goes first so neither always inherits a warmer cache.
        if (round % 2 === 0) {
          [steps[0], steps[1]] = [steps[1] as (typeof steps)[0], steps[0] as (typeof steps)[0]];
          [steps[2], steps[3]] = [steps[3] as (typeof steps)[0], steps[2] as (typeof steps)[0]];
        }
        for (const [measure, run] of steps) {
          const sample = await run();
          if (!warmup) record(workload, measure, sample);
          process.stderr.write(
            `  ${workload.name} ${measure}: ${sample.wallMs.toFixed(0)} ms, cpu ${sample.cpuMs.toFixed(0)} ms, rss ${(sample.maxRssKiB / 1024).toFixed(0)} MiB\n`,
          );
        }
      }
    }

    const stat = (workload: string, measure: Measure, field: keyof Sample) =>
      median((samples.get(`${workload}/${measure}`) ?? []).map((sample) => sample[field]));
    const lines = [
      `Medians of ${rounds} rounds (after one warm-up round), ${new Date().toISOString().slice(0, 10)}:`,
      "",
      "```",
      machine(),
      "```",
      "",
      "| workload | build: ours | build: docker CLI | ratio | client CPU: ours / CLI | ratio | peak RSS: ours / CLI | pack: ours | pack: GNU tar | ratio |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ];
    for (const workload of workloads) {
      const name = workload.name;
      const ob = stat(name, "ours-build", "wallMs");
      const cb = stat(name, "cli-build", "wallMs");
      const oc = stat(name, "ours-build", "cpuMs");
      const cc = stat(name, "cli-build", "cpuMs");
      const or = stat(name, "ours-build", "maxRssKiB") / 1024;
      const cr = stat(name, "cli-build", "maxRssKiB") / 1024;
      const op = stat(name, "ours-pack", "wallMs");
      const tp = stat(name, "tar-pack", "wallMs");
      lines.push(
        `| ${name} | ${(ob / 1000).toFixed(2)} s | ${(cb / 1000).toFixed(2)} s | ${(ob / cb).toFixed(2)}x | ${oc.toFixed(0)} / ${cc.toFixed(0)} ms | ${(oc / cc).toFixed(2)}x | ${or.toFixed(0)} / ${cr.toFixed(0)} MiB | ${op.toFixed(0)} ms | ${tp.toFixed(0)} ms | ${(op / tp).toFixed(2)}x |`,
      );
    }
    if (
      workloads.some((w) => w.name === "copy-20k") &&
      workloads.some((w) => w.name === "small-20k")
    ) {
      const copy = stat("copy-20k", "ours-build", "wallMs");
      const direct = stat("small-20k", "ours-build", "wallMs");
      lines.push(
        "",
        `ImageBuilder.copy(<20,000-file dir>) workload vs building the same folder directly: ${(copy / 1000).toFixed(2)} s / ${(direct / 1000).toFixed(2)} s = ${(copy / direct).toFixed(2)}x`,
      );
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    for (const suffix of ["ours", "cli"]) {
      for (const name of ["small-20k", "big-1g", "ignored-100k", "copy-20k"]) {
        try {
          execFileSync("docker", ["rmi", "-f", `${TAG}:${name}-${suffix}`], { stdio: "ignore" });
        } catch {
          // never built in this run
        }
      }
    }
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  if (String(error).includes("docker")) {
    process.stderr.write("Is the engine up? Run `bash scripts/test-services.sh` (as root).\n");
  }
  process.exitCode = 1;
});
