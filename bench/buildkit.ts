/**
 * Benchmark of BuildKit builds through this library against the docker CLI's BuildKit builds
 * (`DOCKER_BUILDKIT=1 /usr/bin/docker build --network host`, Debian's 20.10 client), as whole
 * processes: Node's start-up and the library's import count, as they do for a script or a
 * command line.
 *
 *   npm run bench:buildkit -- [--rounds 5] [--only <workload>,...] [--scale 1]
 *                             [--baseline <checkout>]
 *
 * Workloads (issues 9 and 20), each round alternating who goes first:
 * - **trivial**: `FROM busybox` + `RUN echo $BUST` with a new `BUST` each build (cold RUN);
 * - **batch**: the same ten times in one process, against ten CLI processes in a row;
 * - **small-20k** / **small-20k-rebuild** / **small-20k-unchanged**: 20,000 small files, built
 *   cold (a fresh path each round, so the engine has no copy of it), then again after one file
 *   changed, then again with nothing changed;
 * - **big-1g** / **big-1g-rebuild**: one 1 GiB file, cold, then again unchanged;
 * - **ignored-100k** / **ignored-100k-unchanged**: 2,000 files plus 100,000 in a `node_modules`
 *   that `.dockerignore` excludes, cold, then again unchanged.
 * The context workloads `COPY . /app`: once the engine has the layer, only the context transfer
 * and the client differ. "Cold" contexts are hard-linked copies at a new path (same files, a new
 * session shared key for both clients; the CLI is given the absolute path, as `.` would share
 * one key between all folders).
 *
 * `--baseline` adds another version of the library (a checkout with its `node_modules`
 * installed, e.g. `git archive <commit> | tar -x -C /tmp/before && (cd /tmp/before && npm ci)`)
 * to the same run: measured in every round right beside this one, and a before/after table is
 * printed. It is compiled into that checkout's own `.bench-work/`, so it loads its own
 * dependencies. Runs minutes apart differ by more than most changes measured here.
 *
 * Wall time, user + system CPU and max RSS come from `/usr/bin/time`; the engine's CPU in the
 * same span from `/proc` (`engine-cpu.ts`), to tell a client's cost from the engine's. Needs the engine and
 * busybox:latest from `scripts/test-services.sh`, and `/usr/bin/time` (Debian package `time`).
 *
 * Afterwards it removes its images (by their label) and the BuildKit build cache entries of its
 * RUN steps: the trivial Dockerfile's RUN names this run (`pdu-bench-<id>`), and BuildKit
 * describes a RUN's entry by its command, so the entries whose description holds that name are
 * this run's and no one else's; each is pruned by its ID. The entries of the context workloads
 * ("local source for context", "fileop target") carry BuildKit's fixed descriptions, with no
 * path, session or label of the build that made them: on an engine that others use at the same
 * time they cannot be told apart from theirs, so they are left to BuildKit's own garbage
 * collection rather than pruned with a broad filter that would take another build's cache.
 * @module
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { checkoutLabel, compileCheckout, compileForNode } from "./compile.js";
import { engineCpuMs, enginePids } from "./engine-cpu.js";
import { BUILDKIT_BENCH_LABEL, removeLabelledImages } from "./labelled-images.js";
import { median, option, type Sample, timed } from "./timed.js";
import { changeOneFile, createWorkloads } from "./workloads.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORK = path.join(ROOT, ".bench-work", "buildkit");
const DOCKER = "/usr/bin/docker";
const LABEL = BUILDKIT_BENCH_LABEL;
const NAMES = [
  "trivial",
  "batch",
  "small-20k",
  "small-20k-rebuild",
  "small-20k-unchanged",
  "big-1g",
  "big-1g-rebuild",
  "ignored-100k",
  "ignored-100k-unchanged",
] as const;
type Name = (typeof NAMES)[number];
/**
 * Each context workload's cold build, then the builds of the same copy that follow it, in this
 * order (the rebuild after one change before the unchanged one).
 */
const SEQUENCES: readonly (readonly [Name, ...Name[]])[] = [
  ["small-20k", "small-20k-rebuild", "small-20k-unchanged"],
  ["big-1g", "big-1g-rebuild"],
  ["ignored-100k", "ignored-100k-unchanged"],
];
/** This checkout, the `--baseline` one, the docker CLI. */
type Who = "ours" | "base" | "cli";
const BATCH = 10;

/** A client process, with the CPU the engine spent while it ran. */
interface BuildSample extends Sample {
  engineCpuMs: number;
}

/** Sums samples of processes run one after the other (a batch of CLI runs); RSS is the largest. */
function total(samples: BuildSample[]): BuildSample {
  return {
    wallMs: samples.reduce((sum, sample) => sum + sample.wallMs, 0),
    cpuMs: samples.reduce((sum, sample) => sum + sample.cpuMs, 0),
    engineCpuMs: samples.reduce((sum, sample) => sum + sample.engineCpuMs, 0),
    maxRssKiB: Math.max(...samples.map((sample) => sample.maxRssKiB)),
  };
}

/** A hard-linked copy of `source` at a new path: the same files, a new shared key. */
async function freshCopy(source: string, parent: string, name: string): Promise<string> {
  const target = path.join(parent, `${name}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  execFileSync("cp", ["-al", source, target]);
  return target;
}

async function main(): Promise<void> {
  const rounds = Number(option("rounds") ?? 5);
  const scale = Number(option("scale") ?? 1);
  const only = new Set((option("only")?.split(",") ?? NAMES) as Name[]);
  for (const name of only) {
    if (!NAMES.includes(name))
      throw new Error(`--only: unknown workload ${name}; use ${NAMES.join(",")}`);
  }
  execFileSync(DOCKER, ["image", "inspect", "busybox:latest"], { stdio: "ignore" });
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  process.stderr.write("compiling the library and the child for plain node…\n");
  const { library, child } = compileForNode(WORK, "buildkit-child.ts");
  // Taken now: a commit made while the benchmark runs must not relabel what was compiled.
  const baselineRoot = option("baseline");
  const baseline =
    baselineRoot === undefined ? undefined : compileCheckout(baselineRoot, "buildkit-baseline");
  const labels = { ours: checkoutLabel(ROOT), base: baseline?.label ?? "" };
  const versions: { who: Who; library: string }[] = [
    { who: "ours", library },
    ...(baseline ? [{ who: "base" as const, library: baseline.library }] : []),
  ];

  const scratch = await mkdtemp(path.join(os.tmpdir(), "pdu-bench-buildkit-"));
  // Names this run in the build cache entry of the trivial RUN (see the module doc).
  const trivialRun = `RUN echo pdu-bench-${randomUUID()} $BUST`;
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  process.once("SIGINT", () => {
    void cleanup().finally(() => process.exit(130));
  });
  const samples = new Map<string, BuildSample[]>();
  const record = (name: Name, who: Who, sample: BuildSample, counted: boolean) => {
    process.stderr.write(
      `  ${name} ${who}: ${sample.wallMs.toFixed(0)} ms, cpu ${sample.cpuMs.toFixed(0)} ms, engine cpu ${sample.engineCpuMs.toFixed(0)} ms, rss ${(sample.maxRssKiB / 1024).toFixed(0)} MiB\n`,
    );
    if (!counted) return;
    const key = `${name}/${who}`;
    samples.set(key, [...(samples.get(key) ?? []), sample]);
  };
  const pids = enginePids();
  const withEngine = async (run: () => Promise<Sample>): Promise<BuildSample> => {
    const before = engineCpuMs(pids);
    const sample = await run();
    return { ...sample, engineCpuMs: engineCpuMs(pids) - before };
  };
  const ours = (context: string, count: number, lib = library) =>
    withEngine(() =>
      timed(WORK, process.execPath, [child, context, String(count)], {
        ...process.env,
        PDU_BENCH_LIB: lib,
      }),
    );
  const cli = (context: string) =>
    withEngine(() =>
      timed(
        WORK,
        DOCKER,
        [
          "build",
          "-q",
          "--network",
          "host",
          "--label",
          LABEL,
          "--build-arg",
          `BUST=cli-${Date.now()}-${Math.random()}`,
          context,
        ],
        { ...process.env, DOCKER_BUILDKIT: "1" },
      ),
    );

  try {
    process.stderr.write(`making workloads in ${scratch} (scale ${scale})…\n`);
    const trivial = path.join(scratch, "trivial");
    await mkdir(trivial);
    await writeFile(path.join(trivial, "Dockerfile"), `FROM busybox\nARG BUST\n${trivialRun}\n`);
    const wanted = new Set<string>();
    for (const [base, ...after] of SEQUENCES) {
      if ([base, ...after].some((name) => only.has(name))) wanted.add(base);
    }
    const contexts = new Map(
      (wanted.size > 0 ? await createWorkloads(scratch, wanted, scale) : []).map((workload) => [
        workload.name,
        workload.context,
      ]),
    );
    const copies = path.join(scratch, "copies");
    await mkdir(copies);

    for (let round = 0; round <= rounds; round++) {
      const counted = round > 0;
      process.stderr.write(
        counted ? `round ${round}/${rounds}…\n` : "warm-up round (not counted)…\n",
      );
      // Every client in turn, who goes first rotating from round to round.
      const inTurn = async (steps: (() => Promise<void>)[]) => {
        for (let step = 0; step < steps.length; step++) {
          await (steps[(step + round) % steps.length] as () => Promise<void>)();
        }
      };
      // The engine's first build after the heavy workloads of the previous round takes about
      // a second more, whoever sends it: one untimed build absorbs it, so that the order of
      // the clients does not decide the trivial figures.
      if (only.has("trivial") || only.has("batch")) await cli(trivial);
      if (only.has("trivial")) {
        await inTurn([
          ...versions.map(
            ({ who, library: lib }) =>
              async () =>
                record("trivial", who, await ours(trivial, 1, lib), counted),
          ),
          async () => record("trivial", "cli", await cli(trivial), counted),
        ]);
      }
      if (only.has("batch")) {
        await inTurn([
          ...versions.map(
            ({ who, library: lib }) =>
              async () =>
                record("batch", who, await ours(trivial, BATCH, lib), counted),
          ),
          async () => {
            const runs: BuildSample[] = [];
            for (let index = 0; index < BATCH; index++) runs.push(await cli(trivial));
            record("batch", "cli", total(runs), counted);
          },
        ]);
      }
      for (const [name, ...after] of SEQUENCES) {
        const source = contexts.get(name);
        if (source === undefined) continue;
        const runOne = (who: Who, lib: string) => async () => {
          const context = await freshCopy(source, copies, `${name}-${who}`);
          try {
            const build = () => (who === "cli" ? cli(context) : ours(context, 1, lib));
            const cold = await build();
            if (only.has(name)) record(name, who, cold, counted);
            for (const again of after) {
              if (!only.has(again)) continue;
              if (again === "small-20k-rebuild") await changeOneFile(context);
              record(again, who, await build(), counted);
            }
          } finally {
            await rm(context, { recursive: true, force: true });
          }
        };
        await inTurn([
          ...versions.map(({ who, library: lib }) => runOne(who, lib)),
          runOne("cli", ""),
        ]);
      }
    }
    process.stdout.write(`${report(samples, rounds, scale)}\n`);
    if (baselineRoot !== undefined) {
      process.stdout.write(`\n${comparison(samples, labels.ours, labels.base)}\n`);
    }
  } finally {
    removeLabelledImages(DOCKER, LABEL);
    await pruneOwnCache(trivialRun.slice("RUN ".length));
    await cleanup();
  }
}

/**
 * Prunes the build cache entries whose description holds `command` (BuildKit describes a RUN's
 * entry as `mount / from exec /bin/sh -c <command>`), one by one by ID: Docker 20.10's BuildKit
 * matches no description filter when it prunes, and an ID filter is a regular expression, hence
 * anchored.
 */
async function pruneOwnCache(command: string): Promise<void> {
  const df = await new Promise<string>((resolve, reject) => {
    const request = http.get(
      { socketPath: "/var/run/docker.sock", path: "/system/df", timeout: 60_000 },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => resolve(body));
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error("GET /system/df timed out")));
    request.on("error", reject);
  }).catch((error: Error) => {
    process.stderr.write(`build cache not pruned: ${error.message}\n`);
    return "{}";
  });
  const entries =
    (JSON.parse(df) as { BuildCache?: { ID: string; Description: string }[] | null }).BuildCache ??
    [];
  for (const { ID: id, Description: description } of entries) {
    if (!description.includes(command) || !/^[a-z0-9]+$/.test(id)) continue;
    try {
      execFileSync(DOCKER, ["builder", "prune", "--all", "--force", "--filter", `id=^${id}$`], {
        stdio: "ignore",
      });
    } catch {
      // Gone already.
    }
  }
}

/** The median of one field over a workload's samples for one client. */
function medianOf(
  samples: ReadonlyMap<string, BuildSample[]>,
  name: Name,
  who: Who,
  field: keyof BuildSample,
): number {
  return median((samples.get(`${name}/${who}`) ?? []).map((sample) => sample[field]));
}

function report(
  samples: ReadonlyMap<string, BuildSample[]>,
  rounds: number,
  scale: number,
): string {
  const stat = (name: Name, who: Who, field: keyof BuildSample) =>
    medianOf(samples, name, who, field);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
  const x = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : "–");
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const version = (format: string) => {
    try {
      return execFileSync(DOCKER, ["version", "--format", format], { encoding: "utf8" }).trim();
    } catch {
      return "?";
    }
  };
  const lines = [
    `Medians of ${rounds} rounds (after one warm-up round), scale ${scale}, ${new Date().toISOString().slice(0, 10)}:`,
    "",
    "```",
    `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Linux ${os.release()}`,
    `Node ${process.version}; Docker engine ${version("{{.Server.Version}}")}; CLI ${version("{{.Client.Version}}")} (${DOCKER}, DOCKER_BUILDKIT=1, --network host)`,
    "```",
    "",
    "Whole processes, as `/usr/bin/time` sees them (batch: one process of ours against ten CLI processes); engine CPU is what dockerd and containerd spent while that client ran (`bench/engine-cpu.ts`):",
    "",
    "| workload | wall: ours / CLI | ratio | CPU (user+sys): ours / CLI | ratio | engine CPU: ours / CLI | max RSS: ours / CLI |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const name of NAMES) {
    if (!samples.has(`${name}/ours`)) continue;
    const [ow, cw] = [stat(name, "ours", "wallMs"), stat(name, "cli", "wallMs")];
    const [oc, cc] = [stat(name, "ours", "cpuMs"), stat(name, "cli", "cpuMs")];
    lines.push(
      `| ${name} | ${s(ow)} / ${s(cw)} | ${x(ow, cw)} | ${oc.toFixed(0)} / ${cc.toFixed(0)} ms | ${x(oc, cc)} | ${stat(name, "ours", "engineCpuMs").toFixed(0)} / ${stat(name, "cli", "engineCpuMs").toFixed(0)} ms | ${mib(stat(name, "ours", "maxRssKiB"))} / ${mib(stat(name, "cli", "maxRssKiB"))} |`,
    );
  }
  lines.push("", "Issue 20's targets, as measured here:", "");
  for (const name of NAMES) {
    if (!samples.has(`${name}/ours`)) continue;
    const [ow, cw] = [stat(name, "ours", "wallMs"), stat(name, "cli", "wallMs")];
    const [oc, cc] = [stat(name, "ours", "cpuMs"), stat(name, "cli", "cpuMs")];
    const rss = stat(name, "ours", "maxRssKiB") / 1024;
    const checks: string[] = [];
    if (SHORT.includes(name)) {
      checks.push(`wall ≤ CLI + 0.15 s: ${verdict(ow <= cw + 150)} (+${s(ow - cw)})`);
    }
    if (ENGINE_BOUND.includes(name)) {
      checks.push(`wall ≤ 1.0x: ${verdict(ow <= cw)} (${x(ow, cw)})`);
      checks.push(`CPU ≤ 1.0x: ${verdict(oc <= cc)} (${x(oc, cc)})`);
    }
    checks.push(`peak RSS ≤ 80 MiB: ${verdict(rss <= 80)} (${rss.toFixed(0)} MiB)`);
    lines.push(`- ${name}: ${checks.join("; ")}`);
  }
  return lines.join("\n");
}

/** Issue 20's short builds: wall at most the CLI's plus 0.15 s. */
const SHORT: readonly Name[] = [
  "trivial",
  "small-20k-unchanged",
  "big-1g-rebuild",
  "ignored-100k-unchanged",
];
/** Issue 20's engine-bound builds: wall and client CPU at most the CLI's. */
const ENGINE_BOUND: readonly Name[] = ["small-20k-rebuild", "small-20k", "batch"];

function verdict(met: boolean): string {
  return met ? "met" : "**missed**";
}

/** The `--baseline` table: this version against the other, measured side by side. */
function comparison(
  samples: ReadonlyMap<string, BuildSample[]>,
  after: string,
  before: string,
): string {
  const stat = (name: Name, who: Who, field: keyof BuildSample) =>
    medianOf(samples, name, who, field);
  const cell = (name: Name, field: keyof BuildSample) => {
    const now = stat(name, "ours", field);
    const then = stat(name, "base", field);
    const show = (value: number) =>
      field === "maxRssKiB" ? (value / 1024).toFixed(0) : value.toFixed(0);
    return `${show(now)} / ${show(then)} (${then > 0 ? (now / then).toFixed(2) : "–"}x)`;
  };
  const lines = [
    `After (${after}) / before (${before}), measured side by side in every round; whole processes, ms, RSS in MiB:`,
    "",
    "| workload | wall | CPU (user+sys) | max RSS |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const name of NAMES) {
    if (!samples.has(`${name}/base`)) continue;
    lines.push(
      `| ${name} | ${cell(name, "wallMs")} | ${cell(name, "cpuMs")} | ${cell(name, "maxRssKiB")} |`,
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
