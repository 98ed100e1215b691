/**
 * Where the wall time of a cold 20k-file BuildKit build goes, for this library and for the docker
 * CLI (`DOCKER_BUILDKIT=1 /usr/bin/docker build --progress plain --network host`), side by side:
 * the whole process (`/usr/bin/time`), the engine's CPU in the same span (`engine-cpu.ts`), and
 * how long the engine itself says each step took (its vertex timestamps, as `--progress plain`
 * prints them: `#5 DONE 1.9s`). Whatever the steps do not cover is the client's start, its
 * session set-up and what the engine does between steps.
 *
 *   npm run bench:phases -- [--rounds 7] [--scale 1]
 *
 * Each round builds a fresh hard-linked copy of the same 20,000 files with each client (who goes
 * first alternates), then the same copy again after one file changed. Needs what
 * `bench/buildkit.ts` needs; removes its images by label afterwards.
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { compileForNode } from "./compile.js";
import { engineCpuMs, enginePids } from "./engine-cpu.js";
import { BUILDKIT_BENCH_LABEL, removeLabelledImages } from "./labelled-images.js";
import { median, option, type Sample, timed } from "./timed.js";
import { changeOneFile, createWorkloads } from "./workloads.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORK = path.join(ROOT, ".bench-work", "buildkit-phases");
const DOCKER = "/usr/bin/docker";
const LABEL = BUILDKIT_BENCH_LABEL;
/** The steps reported, by the name BuildKit gives them (the same for both clients). */
const STEPS = ["[internal] load build context", "[2/2] COPY . /app", "exporting to image"];
type Who = "ours" | "cli";
type Build = "cold" | "rebuild";

interface PhaseSample extends Sample {
  engineCpuMs: number;
  /** Seconds per step name, as the engine timed it (0 for a cached step). */
  steps: Map<string, number>;
}

/** `#N name` then `#N DONE 1.9s` or `#N CACHED`, as `--progress plain` prints them. */
function parseSteps(plain: string): Map<string, number> {
  const names = new Map<string, string>();
  const steps = new Map<string, number>();
  for (const line of plain.split("\n")) {
    const match = /^#(\d+) (.*)$/.exec(line);
    if (match === null) continue;
    const [, number = "", text = ""] = match;
    if (!names.has(number)) {
      names.set(number, text);
      continue;
    }
    const name = names.get(number) ?? "";
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(text);
    if (done !== null) steps.set(name, Number(done[1]));
    else if (text === "CACHED") steps.set(name, 0);
  }
  return steps;
}

async function main(): Promise<void> {
  const rounds = Number(option("rounds") ?? 7);
  const scale = Number(option("scale") ?? 1);
  execFileSync(DOCKER, ["image", "inspect", "busybox:latest"], { stdio: "ignore" });
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  const { child } = compileForNode(WORK, "buildkit-child.ts");
  const library = path.join(WORK, "dist", "index.js");
  const scratch = await mkdtemp(path.join(os.tmpdir(), "pdu-bench-phases-"));
  const pids = enginePids();
  const samples = new Map<string, PhaseSample[]>();
  const measure = async (who: Who, context: string): Promise<PhaseSample> => {
    let plain = "";
    const keep = (text: string) => {
      plain = text;
    };
    const before = engineCpuMs(pids);
    const sample =
      who === "ours"
        ? await timed(
            WORK,
            process.execPath,
            [child, context, "1"],
            { ...process.env, PDU_BENCH_LIB: library, PDU_BENCH_PHASES: "1" },
            keep,
          )
        : await timed(
            WORK,
            DOCKER,
            [
              "build",
              "--progress",
              "plain",
              "--network",
              "host",
              "--label",
              LABEL,
              "--build-arg",
              `BUST=cli-${Date.now()}`,
              context,
            ],
            { ...process.env, DOCKER_BUILDKIT: "1" },
            keep,
          );
    return { ...sample, engineCpuMs: engineCpuMs(pids) - before, steps: parseSteps(plain) };
  };
  try {
    const [workload] = await createWorkloads(scratch, new Set(["small-20k"]), scale);
    if (workload === undefined) throw new Error("no small-20k workload");
    for (let round = 0; round <= rounds; round++) {
      process.stderr.write(round === 0 ? "warm-up round…\n" : `round ${round}/${rounds}…\n`);
      const clients: Who[] = round % 2 === 0 ? ["ours", "cli"] : ["cli", "ours"];
      for (const who of clients) {
        const context = path.join(scratch, `${who}-${round}`);
        execFileSync("cp", ["-al", workload.context, context]);
        try {
          for (const build of ["cold", "rebuild"] as const) {
            if (build === "rebuild") await changeOneFile(context);
            const sample = await measure(who, context);
            process.stderr.write(
              `  ${build} ${who}: ${sample.wallMs.toFixed(0)} ms, engine cpu ${sample.engineCpuMs.toFixed(0)} ms, ${[...sample.steps].map(([name, s]) => `${name} ${s}s`).join(", ")}\n`,
            );
            if (round === 0) continue;
            const key = `${build}/${who}`;
            samples.set(key, [...(samples.get(key) ?? []), sample]);
          }
        } finally {
          await rm(context, { recursive: true, force: true });
        }
      }
    }
    process.stdout.write(`${report(samples, rounds)}\n`);
  } finally {
    removeLabelledImages(DOCKER, LABEL);
    await rm(scratch, { recursive: true, force: true });
  }
}

function report(samples: ReadonlyMap<string, PhaseSample[]>, rounds: number): string {
  const of = (build: Build, who: Who) => samples.get(`${build}/${who}`) ?? [];
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const lines = [
    `Medians of ${rounds} rounds, ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, Node ${process.version}; seconds:`,
    "",
    `| build | client | wall | client CPU | engine CPU | ${STEPS.join(" | ")} | wall not in these steps |`,
    `| --- | --- | ---: | ---: | ---: | ${STEPS.map(() => "---:").join(" | ")} | ---: |`,
  ];
  for (const build of ["cold", "rebuild"] as const) {
    for (const who of ["ours", "cli"] as const) {
      const list = of(build, who);
      if (list.length === 0) continue;
      const steps = STEPS.map((name) => median(list.map((one) => one.steps.get(name) ?? 0)));
      const outside = median(
        list.map(
          (one) =>
            one.wallMs / 1000 - STEPS.reduce((sum, name) => sum + (one.steps.get(name) ?? 0), 0),
        ),
      );
      lines.push(
        `| ${build} | ${who === "ours" ? "this library" : "docker CLI"} | ${s(median(list.map((one) => one.wallMs)))} | ${s(median(list.map((one) => one.cpuMs)))} | ${s(median(list.map((one) => one.engineCpuMs)))} | ${steps.map((value) => value.toFixed(1)).join(" | ")} | ${outside.toFixed(2)} |`,
      );
    }
  }
  return lines.join("\n");
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
