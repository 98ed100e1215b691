/**
 * Start-up cost of the package, as whole processes (Node's own start-up included), on the
 * library as `npm run build` makes it (bench/compile.ts):
 *
 * - `node -e 0` against a process that does `await import("prefect-dockerutils")` and nothing
 *   else: the cost of the import. Issue 20's target: at most 60 ms and 12 MiB over bare Node.
 * - one trivial classic `buildImage` (a one-line Dockerfile, cached after the first run) against
 *   `DOCKER_BUILDKIT=0 /usr/bin/docker build -q` of the same context.
 *
 *   npx tsx bench/startup.ts [--rounds 15] [--baseline <checkout>]
 *
 * `--baseline` adds another version of the library (a checkout with its `node_modules`
 * installed), built as that checkout publishes it, measured in every round beside this one.
 * Wall time, user + system CPU and peak RSS come from `/usr/bin/time` (Debian package `time`);
 * medians over the rounds, after one untimed round. Each round runs every command in turn.
 * @module
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { checkoutLabel, compileCheckout, compileForNode } from "./compile.js";
import { median, option, type Sample, timed } from "./timed.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORK = path.join(ROOT, ".bench-work", "startup");
const DOCKER_CLI = "/usr/bin/docker";
const execFileAsync = promisify(execFile);

/** A measured command: its name in the table and how to run it once. */
interface Command {
  readonly name: string;
  readonly run: () => Promise<Sample>;
}

/** `node -e <script>`: CommonJS, as `node -e 0` is; the library comes in by `import()`. */
function node(script: string): Promise<Sample> {
  return timed(WORK, process.execPath, [
    "-e",
    `(async () => { ${script} })().catch((error) => { console.error(error); process.exit(1); });`,
  ]);
}

async function main(): Promise<void> {
  const rounds = Number(option("rounds") ?? 15);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error("--rounds takes a whole number >= 1");
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  process.stderr.write("building the library…\n");
  const ours = compileForNode(path.join(WORK, "lib")).library;
  const baselineRoot = option("baseline");
  const baseline =
    baselineRoot === undefined ? undefined : compileCheckout(baselineRoot, "startup-baseline");
  const base = baseline?.library;
  const labels = [
    `ours: ${checkoutLabel(ROOT)}`,
    ...(baseline === undefined ? [] : [`base: ${baseline.label}`]),
  ];

  const context = await mkdtemp(path.join(tmpdir(), "pdu-bench-startup-"));
  const tag = `localhost/pdu-bench-startup:${randomUUID()}`;
  await writeFile(
    path.join(context, "Dockerfile"),
    "FROM busybox:latest\nLABEL io.prefect-dockerutils.bench=startup\n",
  );
  const libraries = [
    { who: "ours", library: ours },
    ...(base === undefined ? [] : [{ who: "base", library: base }]),
  ];
  const commands: Command[] = [
    { name: "node -e 0", run: () => node("") },
    ...libraries.map(({ who, library }) => ({
      name: `import (${who})`,
      run: () => node(`await import(${JSON.stringify(library)});`),
    })),
    ...libraries.map(({ who, library }) => ({
      name: `classic buildImage, tiny context (${who})`,
      run: () =>
        node(
          `const { buildImage } = await import(${JSON.stringify(library)}); await buildImage(${JSON.stringify(context)}, { tag: ${JSON.stringify(tag)} });`,
        ),
    })),
    {
      name: "DOCKER_BUILDKIT=0 docker build -q",
      run: () =>
        timed(WORK, DOCKER_CLI, ["build", "-q", "-t", tag, context], {
          ...process.env,
          DOCKER_BUILDKIT: "0",
        }),
    },
  ];
  const samples = new Map<string, Sample[]>();
  try {
    for (let round = 0; round <= rounds; round++) {
      process.stderr.write(round === 0 ? "warm-up round…\n" : `round ${round}/${rounds}…\n`);
      for (let step = 0; step < commands.length; step++) {
        const command = commands[(step + round) % commands.length] as Command;
        const sample = await command.run();
        if (round > 0) samples.set(command.name, [...(samples.get(command.name) ?? []), sample]);
      }
    }
  } finally {
    await rm(context, { recursive: true, force: true });
    await execFileAsync(DOCKER_CLI, ["image", "rm", "--no-prune", tag]).catch(() => undefined);
  }

  const stat = (name: string, field: keyof Sample) =>
    median((samples.get(name) ?? []).map((sample) => sample[field]));
  const bare = { wall: stat("node -e 0", "wallMs"), rss: stat("node -e 0", "maxRssKiB") };
  const lines = [
    `Whole processes, medians of ${rounds} rounds (after one untimed round), ${new Date().toISOString().slice(0, 10)}, Node ${process.version}; ${labels.join("; ")}.`,
    "",
    "| command | wall ms | CPU (user+sys) ms | peak RSS MiB | over `node -e 0` |",
    "| --- | ---: | ---: | ---: | --- |",
  ];
  for (const { name } of commands) {
    const wall = stat(name, "wallMs");
    const rss = stat(name, "maxRssKiB");
    const over =
      name === "node -e 0"
        ? ""
        : `+${(wall - bare.wall).toFixed(0)} ms, +${((rss - bare.rss) / 1024).toFixed(1)} MiB`;
    lines.push(
      `| ${name} | ${wall.toFixed(0)} | ${stat(name, "cpuMs").toFixed(0)} | ${(rss / 1024).toFixed(1)} | ${over} |`,
    );
  }
  const importWall = stat("import (ours)", "wallMs") - bare.wall;
  const importRss = (stat("import (ours)", "maxRssKiB") - bare.rss) / 1024;
  lines.push(
    "",
    `Issue 20's import target (at most 60 ms and 12 MiB over \`node -e 0\`): ${
      importWall <= 60 && importRss <= 12 ? "met" : "**missed**"
    } (+${importWall.toFixed(0)} ms, +${importRss.toFixed(1)} MiB).`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
