/**
 * One measured client run of the benchmark, in its own process so its CPU time and peak memory
 * are its own. `build` builds the way a user of the library does: `buildImage(context, { tag })`,
 * or for a workload with overlays `ImageBuilder.copy` of the overlaid folder and `build()`, so
 * whatever the library loads and does around the upload is measured too (and nothing it does not
 * need, such as dockerode). `pack` only writes the tar of `createBuildContext` to stdout (the
 * benchmark pipes it to `cat >/dev/null`, as it does GNU tar's). Prints one JSON line with the
 * in-process numbers on stderr.
 *
 * The library is loaded at run time from `PDU_BENCH_LIB` (the compiled `index.js` of the checkout
 * under test, see `--lib` in context.ts), the way a user imports it, so the same child measures
 * any version of the library.
 *
 * Usage: PDU_BENCH_LIB=<index.js> node .bench-work/dist/bench/child.js build|pack <context> <overlays-json> [tag]
 * @module
 */
import { Socket } from "node:net";
import path from "node:path";
import type { Readable } from "node:stream";

/** What one run measured, from inside the process. */
export interface ChildResult {
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Tar bytes and entries packed (`pack` only: a build does not report them). */
  readonly bytes?: number;
  readonly entries?: number;
  /** Peak resident memory of this process, KiB. */
  readonly maxRssKiB: number;
}

/** The part of the library's API the benchmark uses, in every version measured. */
interface Library {
  createBuildContext(
    dir: string,
    options: Record<string, unknown>,
  ): Promise<{ stream: Readable; dockerfile: string; entries: Promise<readonly unknown[]> }>;
  buildImage(context: string, options: { tag?: string }): Promise<string>;
  ImageBuilder: new (
    baseImage: string,
    options: { baseDirectory?: string },
  ) => {
    open(): Promise<unknown>;
    copy(source: string, destination: string): void;
    build(options?: { tag?: string }): Promise<string>;
    close(): Promise<void>;
  };
}

type Overlay = { readonly contextPath: string; readonly hostPath: string };

/** Builds as a user of the library would, and returns the image ID. */
async function build(
  library: Library,
  context: string,
  overlays: readonly Overlay[],
  tag: string | undefined,
): Promise<string> {
  if (overlays.length === 0) return library.buildImage(context, { tag });
  // ImageBuilder.copy(<folder>): the builder's own temporary context plus the folder.
  const builder = new library.ImageBuilder("busybox", {
    baseDirectory: path.dirname((overlays[0] as Overlay).hostPath),
  });
  await builder.open();
  try {
    for (const { contextPath, hostPath } of overlays) {
      builder.copy(path.basename(hostPath), `/${contextPath}`);
    }
    return await builder.build({ tag });
  } finally {
    await builder.close();
  }
}

async function main(): Promise<void> {
  const [mode, context, overlaysJson, tag] = process.argv.slice(2);
  const libraryPath = process.env.PDU_BENCH_LIB;
  if ((mode !== "build" && mode !== "pack") || context === undefined || !libraryPath) {
    throw new Error(
      "usage: PDU_BENCH_LIB=<index.js> child.js build|pack <context> <overlays-json> [tag]",
    );
  }
  const overlays = JSON.parse(overlaysJson ?? "[]") as Overlay[];
  const library = (await import(libraryPath)) as Library;
  const started = performance.now();
  const cpu = process.cpuUsage();
  if (mode === "build") {
    await build(library, context, overlays, tag);
    const used = process.cpuUsage(cpu);
    const result: ChildResult = {
      wallMs: performance.now() - started,
      cpuMs: (used.user + used.system) / 1000,
      maxRssKiB: process.resourceUsage().maxRSS,
    };
    process.stderr.write(`${JSON.stringify(result)}\n`);
    return;
  }
  let bytes = 0;
  const built = await library.createBuildContext(context, {
    overlays,
    // Versions with the hook count through it; it leaves the stream's consumers alone.
    onChunk: (chunk: { bytes: number }) => {
      bytes += chunk.bytes;
    },
    // Versions before the hook reused chunk memory only when asked; later ones ignore this.
    reuseBuffers: true,
  });
  // process.stdout writes to a pipe synchronously; a socket on the same descriptor writes
  // asynchronously, as the engine's socket does, so reading and writing overlap.
  const out = new Socket({ fd: 1, readable: false, writable: true });
  await new Promise<void>((resolve, reject) => {
    out.once("finish", resolve);
    out.once("error", reject);
    built.stream.on("error", reject);
    built.stream.pipe(out);
  });
  const used = process.cpuUsage(cpu);
  const result: ChildResult = {
    wallMs: performance.now() - started,
    cpuMs: (used.user + used.system) / 1000,
    bytes,
    entries: (await built.entries).length,
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  process.stderr.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
