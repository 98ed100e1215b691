/**
 * Benchmark of the build context engine against the Docker CLI and GNU tar.
 *
 *   npx tsx bench/context.ts [--rounds 5] [--only small-20k,big-1g,ignored-100k,copy-20k]
 *                            [--lib <checkout or its src>] [--baseline <checkout or its src>]
 *                            [--scale 1]
 *
 * Needs the engine and busybox:latest from `scripts/test-services.sh`, plus GNU tar and
 * `/usr/bin/time` (Debian packages `tar` and `time`). It makes the workloads in a temporary
 * folder, warms the engine's build cache and the page cache with one untimed round, then runs
 * `--rounds` rounds alternating who goes first, and prints medians as markdown tables.
 *
 * `--lib` measures another version of the library with this same script: give another
 * checkout (or its `src`) with its `node_modules` installed, e.g. `git worktree add /tmp/before
 * efd20b6 && (cd /tmp/before && npm ci)` then `--lib /tmp/before`. It is built as that checkout
 * publishes it (bench/compile.ts) into its own `.bench-work/` and loaded through its `index.js`,
 * as users import it.
 * `--baseline` adds a second version to the same run, measured in every round right beside the
 * first (build and pack, both ways), and prints a before/after table: on a machine whose engine
 * and CPU vary by tens of percent from one minute to the next, only versions measured side by
 * side can be compared.
 * `--scale` shrinks the workloads for a smoke run (`--scale 0.01 --rounds 1`).
 *
 * The docker CLI is Debian's 20.10 client, `DOCKER_BUILDKIT=0 /usr/bin/docker build` (the
 * classic builder, like ours). Each client runs in its own process. Two kinds of figures:
 * - in-process (ours only): the `buildImage` call (or `ImageBuilder.copy` and `build()` for
 *   copy-20k) from start to end, or for packing from the createBuildContext call to the last
 *   byte; CPU from `process.cpuUsage`, peak RSS from `process.resourceUsage().maxRSS`; Node's
 *   start-up and the import are left out, as for a library called from a running program;
 * - whole process (ours and the CLI's, as `/usr/bin/time` sees them): wall time, user + system
 *   CPU and max RSS of the whole command, Node's start-up and the import included.
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ChildResult } from "./child.js";
import { checkoutLabel, compileCheckout, compileForNode } from "./compile.js";
import { median, option, type Sample, timed } from "./timed.js";
import { createWorkloads, type Workload } from "./workloads.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORK = path.join(ROOT, ".bench-work", "context");
const TAG = "localhost/pdu-bench";
const DOCKER = "/usr/bin/docker";
const NAMES = ["small-20k", "big-1g", "ignored-100k", "copy-20k"];

/**
 * `inner`: ours, measured in-process; `whole`: any client, measured by /usr/bin/time. `base`:
 * the `--baseline` version of ours.
 */
type Measure =
  | `${"ours" | "base"}-${"build" | "pack"}-${"inner" | "whole"}`
  | "cli-build-whole"
  | "tar-pack-whole";

function quote(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

/** Our client, both ways: the child's own numbers and /usr/bin/time's of the node process. */
async function ours(
  child: string,
  mode: "build" | "pack",
  workload: Workload,
  library: string,
  who: "ours" | "base",
): Promise<{ inner: Sample; whole: Sample }> {
  const args = [
    child,
    mode,
    workload.context,
    JSON.stringify(workload.overlays),
    `${TAG}:${workload.name}-${who}`,
  ];
  const env = { ...process.env, PDU_BENCH_LIB: library };
  const report = `${WORK}/child.json`;
  // Like tar's, our tar goes through a pipe to cat; the child reports its numbers on stderr.
  // /usr/bin/time times the node process itself, inside the pipeline, not the shell around it.
  const node = `/usr/bin/time -o ${WORK}/ours-time.txt -f '%U %S %M' ${quote(process.execPath)} ${args.map(quote).join(" ")} 2>${report}`;
  // Wall time from the shell run: sh and cat start in about a millisecond.
  const run = await timed(
    WORK,
    "sh",
    ["-c", mode === "pack" ? `${node} | cat >/dev/null` : node],
    env,
  );
  const [user, system, rss] = (await readFile(`${WORK}/ours-time.txt`, "utf8"))
    .trim()
    .split(/\s+/)
    .map(Number);
  const lines = (await readFile(report, "utf8")).trim().split("\n");
  const inner = JSON.parse(lines.pop() ?? "{}") as ChildResult;
  return {
    inner: { wallMs: inner.wallMs, cpuMs: inner.cpuMs, maxRssKiB: inner.maxRssKiB },
    whole: {
      wallMs: run.wallMs,
      cpuMs: ((user ?? 0) + (system ?? 0)) * 1000,
      maxRssKiB: rss ?? 0,
    },
  };
}

function cliBuild(workload: Workload): Promise<Sample> {
  return timed(
    WORK,
    DOCKER,
    ["build", "-q", "-t", `${TAG}:${workload.name}-cli`, workload.cliContext],
    {
      ...process.env,
      DOCKER_BUILDKIT: "0",
    },
  );
}

async function tarPack(workload: Workload): Promise<Sample> {
  // GNU tar skips reading files when its archive is /dev/null: pipe it through cat instead.
  // The .dockerignore of the ignored-100k workload is `node_modules`: tar gets the same exclusion.
  const exclude = workload.name === "ignored-100k" ? "--exclude=./node_modules" : "";
  const run = await timed(WORK, "sh", [
    "-c",
    `/usr/bin/time -o ${WORK}/tar-time.txt -f '%U %S %M' tar -cf - -C '${workload.cliContext}' ${exclude} . | cat >/dev/null`,
  ]);
  const [user, system, rss] = (await readFile(`${WORK}/tar-time.txt`, "utf8"))
    .trim()
    .split(/\s+/)
    .map(Number);
  return { wallMs: run.wallMs, cpuMs: ((user ?? 0) + (system ?? 0)) * 1000, maxRssKiB: rss ?? 0 };
}

function machine(library: string): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const docker = (args: string[]) => {
    try {
      return execFileSync(DOCKER, args, { encoding: "utf8" }).trim();
    } catch {
      return "?";
    }
  };
  const tar = execFileSync("tar", ["--version"], { encoding: "utf8" }).split("\n")[0];
  return [
    `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Linux ${os.release()}`,
    `Node ${process.version}; Docker engine ${docker(["version", "--format", "{{.Server.Version}}"])} (classic builder, storage driver ${docker(["info", "--format", "{{.Driver}}"])}), CLI ${docker(["version", "--format", "{{.Client.Version}}"])} (${DOCKER}); ${tar}`,
    `library: ${library}`,
  ].join("\n");
}

async function main(): Promise<void> {
  const rounds = Number(option("rounds") ?? 5);
  const only = option("only");
  const scale = Number(option("scale") ?? 1);
  execFileSync(DOCKER, ["image", "inspect", "busybox:latest"], { stdio: "ignore" });

  process.stderr.write("compiling the library and the child for plain node…\n");
  await rm(WORK, { recursive: true, force: true });
  // This checkout's library (or --lib's) and the child, compiled by this checkout.
  const own = compileForNode(path.join(WORK, "lib"), "child.ts");
  const child = own.child;
  const lib = option("lib");
  const measured =
    lib === undefined
      ? { library: own.library, label: checkoutLabel(ROOT) }
      : compileCheckout(lib, "context-lib");
  const given = option("baseline");
  const baseline = given === undefined ? undefined : compileCheckout(given, "context-baseline");

  const scratch = await mkdtemp(path.join(os.tmpdir(), "pdu-bench-"));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  process.once("SIGINT", () => {
    void cleanup().finally(() => process.exit(130));
  });
  try {
    process.stderr.write(`making workloads in ${scratch} (scale ${scale})…\n`);
    const workloads = await createWorkloads(
      scratch,
      only ? new Set(only.split(",")) : undefined,
      scale,
    );
    const samples = new Map<string, Sample[]>();
    const record = (workload: Workload, measure: Measure, sample: Sample) => {
      const key = `${workload.name}/${measure}`;
      samples.set(key, [...(samples.get(key) ?? []), sample]);
    };
    const show = (workload: Workload, measure: Measure, sample: Sample) =>
      process.stderr.write(
        `  ${workload.name} ${measure}: ${sample.wallMs.toFixed(0)} ms, cpu ${sample.cpuMs.toFixed(0)} ms, rss ${(sample.maxRssKiB / 1024).toFixed(0)} MiB\n`,
      );

    for (let round = 0; round <= rounds; round++) {
      const warmup = round === 0;
      process.stderr.write(
        warmup ? "warm-up round (not counted)…\n" : `round ${round}/${rounds}…\n`,
      );
      for (const workload of workloads) {
        const runOurs =
          (mode: "build" | "pack", who: "ours" | "base" = "ours") =>
          async () => {
            const index =
              who === "ours" ? measured.library : (baseline as { library: string }).library;
            const result = await ours(child, mode, workload, index, who);
            const measures: [Measure, Measure] = [`${who}-${mode}-inner`, `${who}-${mode}-whole`];
            for (const [measure, sample] of [
              [measures[0], result.inner],
              [measures[1], result.whole],
            ] as const) {
              if (!warmup) record(workload, measure, sample);
              show(workload, measure, sample);
            }
          };
        const runOther = (measure: Measure, run: () => Promise<Sample>) => async () => {
          const sample = await run();
          if (!warmup) record(workload, measure, sample);
          show(workload, measure, sample);
        };
        const builds = [runOurs("build"), runOther("cli-build-whole", () => cliBuild(workload))];
        const packs = [runOurs("pack"), runOther("tar-pack-whole", () => tarPack(workload))];
        if (baseline !== undefined) {
          builds.push(runOurs("build", "base"));
          packs.push(runOurs("pack", "base"));
        }
        // Rotate who goes first so none always inherits a warmer (or busier) engine and cache.
        for (const steps of [builds, packs]) {
          for (let step = 0; step < steps.length; step++) {
            await (steps[(step + round) % steps.length] as () => Promise<void>)();
          }
        }
      }
    }
    process.stdout.write(`${report(workloads, samples, rounds, measured.label)}\n`);
    if (baseline !== undefined) {
      process.stdout.write(`\n${comparison(workloads, samples, measured.label, baseline.label)}\n`);
    }
  } finally {
    for (const suffix of ["ours", "base", "cli"]) {
      for (const name of NAMES) {
        try {
          execFileSync(DOCKER, ["rmi", "-f", `${TAG}:${name}-${suffix}`], { stdio: "ignore" });
        } catch {
          // never built in this run
        }
      }
    }
    await cleanup();
  }
}

/** Looks up the median of one field of one measure of one workload in `samples`. */
function medianOf(samples: ReadonlyMap<string, Sample[]>) {
  return (workload: string, measure: Measure, field: keyof Sample): number =>
    median((samples.get(`${workload}/${measure}`) ?? []).map((sample) => sample[field]));
}

function report(
  workloads: readonly Workload[],
  samples: ReadonlyMap<string, Sample[]>,
  rounds: number,
  library: string,
): string {
  const stat = medianOf(samples);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const lines = [
    `Medians of ${rounds} rounds (after one warm-up round), ${new Date().toISOString().slice(0, 10)}:`,
    "",
    "```",
    machine(library),
    "```",
    "",
    "Whole process, as `/usr/bin/time` sees it (Node start-up and the import included for ours):",
    "",
    "| workload | build wall: ours / docker CLI | ratio | build CPU (user+sys): ours / CLI | ratio | build max RSS: ours / CLI | pack wall: ours / GNU tar | ratio |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const { name } of workloads) {
    const [ow, cw] = [
      stat(name, "ours-build-whole", "wallMs"),
      stat(name, "cli-build-whole", "wallMs"),
    ];
    const [oc, cc] = [
      stat(name, "ours-build-whole", "cpuMs"),
      stat(name, "cli-build-whole", "cpuMs"),
    ];
    const [or, cr] = [
      stat(name, "ours-build-whole", "maxRssKiB"),
      stat(name, "cli-build-whole", "maxRssKiB"),
    ];
    const [op, tp] = [
      stat(name, "ours-pack-whole", "wallMs"),
      stat(name, "tar-pack-whole", "wallMs"),
    ];
    lines.push(
      `| ${name} | ${s(ow)} / ${s(cw)} | ${x(ow, cw)} | ${oc.toFixed(0)} / ${cc.toFixed(0)} ms | ${x(oc, cc)} | ${mib(or)} / ${mib(cr)} | ${op.toFixed(0)} / ${tp.toFixed(0)} ms | ${x(op, tp)} |`,
    );
  }
  lines.push(
    "",
    "In-process, ours only (the buildImage call, or createBuildContext to the last byte for packing; Node start-up and the import left out):",
    "",
    "| workload | build wall | build CPU | build peak RSS | pack wall | pack CPU | pack peak RSS |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const { name } of workloads) {
    lines.push(
      `| ${name} | ${s(stat(name, "ours-build-inner", "wallMs"))} | ${stat(name, "ours-build-inner", "cpuMs").toFixed(0)} ms | ${mib(stat(name, "ours-build-inner", "maxRssKiB"))} | ${stat(name, "ours-pack-inner", "wallMs").toFixed(0)} ms | ${stat(name, "ours-pack-inner", "cpuMs").toFixed(0)} ms | ${mib(stat(name, "ours-pack-inner", "maxRssKiB"))} |`,
    );
  }
  if (
    workloads.some((w) => w.name === "copy-20k") &&
    workloads.some((w) => w.name === "small-20k")
  ) {
    const copy = stat("copy-20k", "ours-build-whole", "wallMs");
    const direct = stat("small-20k", "ours-build-whole", "wallMs");
    lines.push(
      "",
      `ImageBuilder.copy(<folder>) workload vs building the same folder directly (whole process): ${s(copy)} / ${s(direct)} = ${x(copy, direct)}`,
    );
  }
  return lines.join("\n");
}

/** The `--baseline` table: the same measures of two versions, taken side by side. */
function comparison(
  workloads: readonly Workload[],
  samples: ReadonlyMap<string, Sample[]>,
  after: string,
  before: string,
): string {
  const stat = medianOf(samples);
  const cell = (
    name: string,
    mode: "build" | "pack",
    way: "inner" | "whole",
    field: keyof Sample,
  ) => {
    const now = stat(name, `ours-${mode}-${way}`, field);
    const then = stat(name, `base-${mode}-${way}`, field);
    const show = (value: number) =>
      field === "maxRssKiB" ? `${(value / 1024).toFixed(0)}` : value.toFixed(0);
    return `${show(now)} / ${show(then)} (${(now / then).toFixed(2)}x)`;
  };
  const lines = [
    `After (${after}) / before (${before}), measured side by side in every round; ms, RSS in MiB:`,
    "",
    "| workload | build wall, whole | build CPU, whole | build CPU, in-process | pack wall, in-process | pack CPU, in-process | pack CPU, whole | pack peak RSS, in-process |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const { name } of workloads) {
    lines.push(
      `| ${name} | ${cell(name, "build", "whole", "wallMs")} | ${cell(name, "build", "whole", "cpuMs")} | ${cell(name, "build", "inner", "cpuMs")} | ${cell(name, "pack", "inner", "wallMs")} | ${cell(name, "pack", "inner", "cpuMs")} | ${cell(name, "pack", "whole", "cpuMs")} | ${cell(name, "pack", "inner", "maxRssKiB")} |`,
    );
  }
  return lines.join("\n");
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  if (String(error).includes("docker")) {
    process.stderr.write("Is the engine up? Run `bash scripts/test-services.sh` (as root).\n");
  }
  process.exitCode = 1;
});
