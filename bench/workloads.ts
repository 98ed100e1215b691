/**
 * Creates the benchmark's workloads under a scratch folder: the contexts described in issue 3.
 * @module
 */
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdir, open, rename, writeFile } from "node:fs/promises";
import path from "node:path";

/** One benchmark workload: a context directory and how to build it. */
export interface Workload {
  /** Short name used in the table. */
  readonly name: string;
  /** The context directory our library packs. */
  readonly context: string;
  /** Host folders added to the context by `createBuildContext`'s `overlays` (ImageBuilder.copy). */
  readonly overlays: readonly { readonly contextPath: string; readonly hostPath: string }[];
  /** The equivalent context for `docker build` and `tar -c` (a real copy for the overlay case). */
  readonly cliContext: string;
}

const DOCKERFILE = "FROM busybox\nCOPY . /app\n";

/** A deterministic pseudo-random filler: cheap to make, hard to compress by accident. */
function filler(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** Writes `count` files of 512–1024 bytes spread over `folders` folders below `root`. */
export async function writeSmallFiles(root: string, count: number, folders: number): Promise<void> {
  const perFolder = Math.ceil(count / folders);
  const pool = filler(1 << 20, 7);
  let written = 0;
  for (let f = 0; f < folders && written < count; f++) {
    const dir = path.join(root, `dir-${String(f).padStart(4, "0")}`);
    await mkdir(dir, { recursive: true });
    const batch: Promise<void>[] = [];
    for (let i = 0; i < perFolder && written < count; i++, written++) {
      const size = 512 + ((written * 7919) % 513);
      const start = (written * 4099) % (pool.length - size);
      batch.push(
        writeFile(
          path.join(dir, `file-${String(i).padStart(5, "0")}.txt`),
          pool.subarray(start, start + size),
        ),
      );
    }
    await Promise.all(batch);
  }
}

async function writeBigFile(file: string, size: number): Promise<void> {
  const chunk = randomBytes(1 << 20);
  const handle = await open(file, "w");
  try {
    for (let written = 0; written < size; written += chunk.length) {
      // Vary each MiB a little so no layer of the stack can deduplicate it.
      chunk.writeUInt32LE(written >>> 20, 0);
      await handle.write(chunk, 0, Math.min(chunk.length, size - written));
    }
  } finally {
    await handle.close();
  }
}

/**
 * Creates the four workloads of issue 3 below `root` and returns them. `scale` shrinks them for
 * smoke runs (0.01: 200 small files, 10 MiB, 1,000 ignored files); names stay the same.
 */
export async function createWorkloads(
  root: string,
  only?: ReadonlySet<string>,
  scale = 1,
): Promise<Workload[]> {
  const workloads: Workload[] = [];
  const want = (name: string) => only === undefined || only.has(name);
  const count = (full: number) => Math.max(10, Math.round(full * scale));

  if (want("small-20k") || want("copy-20k")) {
    const small = path.join(root, "small-20k");
    await mkdir(small, { recursive: true });
    await writeFile(path.join(small, "Dockerfile"), DOCKERFILE);
    await writeSmallFiles(small, count(20_000), 200);
    if (want("small-20k"))
      workloads.push({ name: "small-20k", context: small, overlays: [], cliContext: small });
    if (want("copy-20k")) {
      // ImageBuilder.copy(<dir>): a tiny context (only the Dockerfile) plus the folder as overlay.
      const tiny = path.join(root, "copy-20k");
      await mkdir(tiny, { recursive: true });
      await writeFile(path.join(tiny, "Dockerfile"), "FROM busybox\nCOPY app /app\n");
      const source = path.join(root, "copy-source");
      await writeSmallFiles(source, count(20_000), 200);
      // What Prefect's copy() would have produced on disk, for docker build and tar.
      const cli = path.join(root, "copy-20k-cli");
      await mkdir(cli, { recursive: true });
      await writeFile(path.join(cli, "Dockerfile"), "FROM busybox\nCOPY app /app\n");
      await writeSmallFiles(path.join(cli, "app"), count(20_000), 200);
      workloads.push({
        name: "copy-20k",
        context: tiny,
        overlays: [{ contextPath: "app", hostPath: source }],
        cliContext: cli,
      });
    }
  }

  if (want("big-1g")) {
    const big = path.join(root, "big-1g");
    await mkdir(big, { recursive: true });
    await writeFile(path.join(big, "Dockerfile"), DOCKERFILE);
    await writeBigFile(path.join(big, "big.bin"), count(1 << 30));
    workloads.push({ name: "big-1g", context: big, overlays: [], cliContext: big });
  }

  if (want("ignored-100k")) {
    const ignored = path.join(root, "ignored-100k");
    await mkdir(ignored, { recursive: true });
    await writeFile(path.join(ignored, "Dockerfile"), DOCKERFILE);
    await writeFile(path.join(ignored, ".dockerignore"), "node_modules\n");
    await writeSmallFiles(path.join(ignored, "src"), count(2_000), 20);
    await writeSmallFiles(path.join(ignored, "node_modules"), count(100_000), 1_000);
    workloads.push({ name: "ignored-100k", context: ignored, overlays: [], cliContext: ignored });
  }
  return workloads;
}

/**
 * Replaces the first small file of a small-20k context (a hard-linked copy), as a rebuild's one
 * change: written beside it and renamed over it, so the original it shares inodes with stays.
 */
export async function changeOneFile(context: string): Promise<void> {
  const dir = readdirSync(context).find((name) => name.startsWith("dir-")) ?? "";
  const file = path.join(context, dir, "file-00000.txt");
  const temporary = `${file}.new`;
  await writeFile(temporary, `changed ${Date.now()}\n`);
  await rename(temporary, file);
}
