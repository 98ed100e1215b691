/**
 * Benchmark of a two-platform build and push (linux/amd64 and linux/arm64, one image index under
 * one tag) through this library, against the docker CLI doing the same without buildx: Debian's
 * 20.10 client building each platform (`DOCKER_BUILDKIT=1 docker build --platform P --network
 * host -t NAME:TAG-P`), pushing each, then `docker manifest create` and `docker manifest push`
 * (`DOCKER_CLI_EXPERIMENTAL=enabled`, `--insecure` for the loopback registry). Both as whole
 * processes (Node's start-up and the import count), each round alternating who goes first.
 *
 *   npm run bench:platforms -- [--rounds 5] [--only small,text-16m]
 *
 * Workloads, each a `FROM scratch` context (COPY only: no emulation needed) with new content every
 * round, so every build and push is cold:
 * - **small**: one file of a few bytes;
 * - **text-16m**: one 16 MiB text file (compressible, like source code), so compressing and
 *   uploading count.
 *
 * The CLI's way leaves its two platform tags in the registry (`NAME:TAG-amd64`, `NAME:TAG-arm64`),
 * which this library's does not; the benchmark deletes them afterwards. Needs the engine and the
 * open registry from `scripts/test-services.sh`, and `/usr/bin/time`.
 * @module
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { compileForNode } from "./compile.js";
import { median, option, type Sample, timed } from "./timed.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const WORK = path.join(ROOT, ".bench-work", "multi-platform");
const DOCKER = "/usr/bin/docker";
const REGISTRY = "127.0.0.1:5555";
const NAMESPACE = "pdu-bench-platforms";
const NAMES = ["small", "text-16m"] as const;
type Name = (typeof NAMES)[number];

/** 16 MiB of text-like lines, different every round. */
function text16m(seed: string): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < 16 * 1024 * 1024; i++) {
    const line = `${i.toString(36)} def handler_${seed.slice(0, 8)}_${i % 977}(event, context): return process(event["records"][${i % 13}], retries=${i % 7})\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join("");
}

/** A fresh `FROM scratch` context for one build of `name`. */
async function context(parent: string, name: Name): Promise<string> {
  const dir = await mkdtemp(path.join(parent, `${name}-`));
  const seed = randomUUID();
  await writeFile(path.join(dir, "Dockerfile"), "FROM scratch\nCOPY . /app/\n");
  await writeFile(
    path.join(dir, "payload.txt"),
    name === "small" ? `${seed}\n` : text16m(seed.replaceAll("-", "")),
  );
  return dir;
}

/** The CLI's way, as one shell script: two builds, two pushes, manifest create and push. */
function cliScript(dir: string, repository: string, tag: string): string {
  const ref = `${REGISTRY}/${repository}`;
  const lines = ["set -euo pipefail", "export DOCKER_BUILDKIT=1 DOCKER_CLI_EXPERIMENTAL=enabled"];
  for (const arch of ["amd64", "arm64"]) {
    lines.push(
      `${DOCKER} build -q --platform linux/${arch} --network host --label io.prefect-dockerutils.bench=multi-platform -t ${ref}:${tag}-${arch} ${dir} >/dev/null`,
      `${DOCKER} push -q ${ref}:${tag}-${arch} >/dev/null`,
    );
  }
  lines.push(
    `${DOCKER} manifest create --insecure ${ref}:${tag} ${ref}:${tag}-amd64 ${ref}:${tag}-arm64 >/dev/null`,
    `${DOCKER} manifest push --insecure --purge ${ref}:${tag} >/dev/null`,
  );
  return lines.join("\n");
}

/** Deletes every tag of a repository in the open registry (by digest). */
async function deleteRepository(repository: string): Promise<void> {
  const list = await fetch(`http://${REGISTRY}/v2/${repository}/tags/list`);
  if (!list.ok) return;
  const { tags } = (await list.json()) as { tags: string[] | null };
  for (const tag of tags ?? []) {
    const head = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${tag}`, {
      method: "HEAD",
      headers: {
        Accept: [
          "application/vnd.oci.image.index.v1+json",
          "application/vnd.docker.distribution.manifest.list.v2+json",
          "application/vnd.docker.distribution.manifest.v2+json",
          "application/vnd.oci.image.manifest.v1+json",
        ].join(", "),
      },
    });
    const digest = head.headers.get("docker-content-digest");
    if (digest) {
      await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${digest}`, { method: "DELETE" });
    }
  }
}

/** Removes the engine's images of the benchmark (the CLI's tags, and anything labelled). */
function removeImages(): void {
  const ids = execFileSync(DOCKER, [
    "images",
    "-a",
    "-q",
    "--filter",
    "label=io.prefect-dockerutils.bench=multi-platform",
  ])
    .toString()
    .split("\n")
    .filter(Boolean);
  for (const id of new Set(ids)) {
    try {
      execFileSync(DOCKER, ["image", "rm", "-f", id], { stdio: "ignore" });
    } catch {
      // Gone already.
    }
  }
}

async function main(): Promise<void> {
  const rounds = Number(option("rounds") ?? 5);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be 1 or more");
  const only = (option("only")?.split(",") ?? [...NAMES]) as Name[];
  await mkdir(WORK, { recursive: true });
  const { library, child } = compileForNode(WORK, "multi-platform-child.ts");
  const scratch = await mkdtemp(path.join(os.tmpdir(), "pdu-bench-platforms-"));
  const samples = new Map<string, Sample[]>();
  const add = (key: string, sample: Sample) =>
    samples.set(key, [...(samples.get(key) ?? []), sample]);
  const repositories: string[] = [];
  try {
    for (const name of only) {
      // One untimed round first: the engine's first builds after a pause are slower, whoever asks.
      for (let round = 0; round <= rounds; round++) {
        const order = round % 2 === 0 ? (["ours", "cli"] as const) : (["cli", "ours"] as const);
        for (const who of order) {
          const dir = await context(scratch, name);
          const repository = `${NAMESPACE}/${name}-${who}-${randomUUID().slice(0, 8)}`;
          repositories.push(repository);
          const sample =
            who === "ours"
              ? await timed(
                  WORK,
                  process.execPath,
                  [child, dir, `${REGISTRY}/${repository}:bench`],
                  {
                    ...process.env,
                    PDU_BENCH_LIB: library,
                  },
                )
              : await timed(WORK, "bash", ["-c", cliScript(dir, repository, "bench")]);
          if (round > 0) add(`${name} ${who}`, sample);
          await rm(dir, { recursive: true, force: true });
          removeImages();
          await deleteRepository(repository);
        }
        process.stderr.write(`${name}: round ${round}/${rounds} done\n`);
      }
    }
  } finally {
    removeImages();
    for (const repository of repositories)
      await deleteRepository(repository).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
  const lines = [
    "| workload | wall: ours / CLI | ratio | client CPU (user+sys): ours / CLI | max RSS: ours / CLI |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const name of only) {
    const ours = samples.get(`${name} ours`) ?? [];
    const cli = samples.get(`${name} cli`) ?? [];
    const wall = [median(ours.map((s) => s.wallMs)), median(cli.map((s) => s.wallMs))];
    const cpu = [median(ours.map((s) => s.cpuMs)), median(cli.map((s) => s.cpuMs))];
    const rss = [median(ours.map((s) => s.maxRssKiB)), median(cli.map((s) => s.maxRssKiB))];
    lines.push(
      `| ${name} | ${((wall[0] as number) / 1000).toFixed(2)} s / ${((wall[1] as number) / 1000).toFixed(2)} s | ${((wall[0] as number) / (wall[1] as number)).toFixed(2)}x | ${Math.round(cpu[0] as number)} / ${Math.round(cpu[1] as number)} ms | ${Math.round((rss[0] as number) / 1024)} / ${Math.round((rss[1] as number) / 1024)} MiB |`,
    );
    lines.push(
      `<!-- ${name} wall ms: ours ${ours.map((s) => Math.round(s.wallMs)).join(",")}; cli ${cli.map((s) => Math.round(s.wallMs)).join(",")} -->`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
