/**
 * Start-up cost of the package, as whole processes (Node's own start-up included), measured on the
 * built `dist/` (run `npm run build` first):
 *
 * - `node -e 0` against a process that does `await import("prefect-dockerutils")` and nothing
 *   else: the cost of the import. Targets: at most 150 ms wall and 15 MiB peak RSS over bare Node.
 * - one trivial `buildImage` (a one-line Dockerfile, cached after the first run) against
 *   `DOCKER_BUILDKIT=0 /usr/bin/docker build` of the same context.
 *
 * Wall time is taken by this script around each child process, from spawn to exit; peak RSS is the
 * child's own `maxRSS` (getrusage), printed by the child as it exits. Medians over `--runs`
 * (default 7) runs, after one warm-up run of each. A script, not a test: run it with
 * `npx tsx bench/startup.ts [--runs N]`.
 * @module
 */
import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const ROOT = path.resolve(import.meta.dirname, "..");
const DIST = path.join(ROOT, "dist/index.js");
const DOCKER_CLI = "/usr/bin/docker";
const execFileAsync = promisify(execFile);

/** Prints the child's peak RSS (KiB) on fd 3 as it exits, whatever else it does. */
const REPORT_RSS =
  'process.on("exit", () => require("node:fs").writeSync(3, String(process.resourceUsage().maxRSS)));';

interface Sample {
  readonly wallMs: number;
  /** Peak resident memory, KiB, or undefined when the program cannot tell (the docker CLI). */
  readonly maxRssKiB: number | undefined;
}

function runOnce(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let rss = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on("data", (chunk: Buffer) => {
      rss += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) {
        reject(
          new Error(`${command} ${args.join(" ")} exited with ${code}: ${stderr.slice(-2000)}`),
        );
        return;
      }
      resolve({ wallMs, maxRssKiB: rss ? Number(rss) : undefined });
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

interface Row {
  readonly name: string;
  readonly wallMs: number;
  readonly rssMiB: number | undefined;
}

async function measure(name: string, runs: number, once: () => Promise<Sample>): Promise<Row> {
  await once();
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  const rss = samples.map((sample) => sample.maxRssKiB).filter((value) => value !== undefined);
  return {
    name,
    wallMs: median(samples.map((sample) => sample.wallMs)),
    rssMiB: rss.length === samples.length ? median(rss) / 1024 : undefined,
  };
}

function node(script: string): Promise<Sample> {
  // CommonJS -e for the RSS hook; the import itself is a real ESM import of dist/index.js.
  return runOnce(process.execPath, ["-e", `${REPORT_RSS}\n${script}`]);
}

async function main(): Promise<void> {
  const runsFlag = process.argv.indexOf("--runs");
  const runs = runsFlag === -1 ? 7 : Number(process.argv[runsFlag + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a whole number >= 1");
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first`);
  const dist = JSON.stringify(DIST);

  const bare = await measure("node -e 0", runs, () => node(""));
  const imported = await measure('import("prefect-dockerutils")', runs, () =>
    node(`import(${dist}).catch((error) => { console.error(error); process.exit(1); });`),
  );

  const context = await mkdtemp(path.join(tmpdir(), "pdu-bench-startup-"));
  const tag = `localhost/pdu-bench-startup:${randomUUID()}`;
  const rows = [bare, imported];
  try {
    await writeFile(
      path.join(context, "Dockerfile"),
      `FROM busybox:latest\nLABEL io.prefect-dockerutils.bench=startup\n`,
    );
    rows.push(
      await measure("buildImage (tiny context)", runs, () =>
        node(
          `import(${dist}).then(({ buildImage }) => buildImage(${JSON.stringify(context)}, { tag: ${JSON.stringify(tag)} })).catch((error) => { console.error(error); process.exit(1); });`,
        ),
      ),
    );
    rows.push(
      await measure("DOCKER_BUILDKIT=0 docker build -q", runs, () =>
        runOnce(DOCKER_CLI, ["build", "-q", "-t", tag, context], { DOCKER_BUILDKIT: "0" }),
      ),
    );
  } finally {
    await rm(context, { recursive: true, force: true });
    await execFileAsync(DOCKER_CLI, ["image", "rm", "--no-prune", tag]).catch(() => undefined);
  }

  const [, , build, cli] = rows;
  const lines = [
    `Whole processes, medians of ${runs} runs (after one warm-up each); wall from spawn to exit, peak RSS from the child's getrusage.`,
    "",
    "| workload | wall ms | peak RSS MiB | over `node -e 0` |",
    "| --- | ---: | ---: | --- |",
    ...rows.map((row) => {
      const over =
        row === bare || row.rssMiB === undefined || bare.rssMiB === undefined
          ? ""
          : `+${(row.wallMs - bare.wallMs).toFixed(0)} ms, +${(row.rssMiB - bare.rssMiB).toFixed(1)} MiB`;
      return `| ${row.name} | ${row.wallMs.toFixed(0)} | ${row.rssMiB === undefined ? "n/a" : row.rssMiB.toFixed(1)} | ${over} |`;
    }),
    "",
    `import targets (<= 150 ms, <= 15 MiB over bare Node): ${
      imported.wallMs - bare.wallMs <= 150 &&
      (imported.rssMiB ?? Number.POSITIVE_INFINITY) - (bare.rssMiB ?? 0) <= 15
        ? "met"
        : "NOT met"
    }`,
    build && cli
      ? `buildImage / docker build (wall): ${(build.wallMs / cli.wallMs).toFixed(2)}x`
      : "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
