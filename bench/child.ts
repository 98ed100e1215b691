/**
 * One measured client run of the benchmark, in its own process so its CPU time and peak memory
 * are its own: `build` packs a context with createBuildContext and builds it through dockerode,
 * `pack` only writes the tar to stdout (the benchmark pipes it to `cat >/dev/null`, as it does
 * GNU tar's). Prints one JSON line with the in-process numbers on stderr.
 *
 * The library is loaded at run time from `PDU_BENCH_LIB` (the compiled `index.js` of the checkout
 * under test, see `--lib` in context.ts), the way a user imports it, so the same child measures
 * any version of the library.
 *
 * Usage: PDU_BENCH_LIB=<index.js> node .bench-work/child/child.js build|pack <context> <overlays-json> [tag]
 * @module
 */
import { Socket } from "node:net";
import type { Readable } from "node:stream";

/** What one run measured, from inside the process. */
export interface ChildResult {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly bytes: number;
  readonly entries: number;
  /** Peak resident memory of this process, KiB. */
  readonly maxRssKiB: number;
}

/** The part of the library's API the benchmark uses, in every version measured. */
interface Library {
  createBuildContext(
    dir: string,
    options: Record<string, unknown>,
  ): Promise<{ stream: Readable; dockerfile: string; entries: Promise<readonly unknown[]> }>;
}

async function main(): Promise<void> {
  const [mode, context, overlaysJson, tag] = process.argv.slice(2);
  const libraryPath = process.env.PDU_BENCH_LIB;
  if ((mode !== "build" && mode !== "pack") || context === undefined || !libraryPath) {
    throw new Error(
      "usage: PDU_BENCH_LIB=<index.js> child.js build|pack <context> <overlays-json> [tag]",
    );
  }
  const overlays = JSON.parse(overlaysJson ?? "[]") as unknown[];
  const library = (await import(libraryPath)) as Library;
  // Only the build needs dockerode (and its memory); packing alone measures the library by itself.
  const Docker = mode === "build" ? (await import("dockerode")).default : undefined;
  const started = performance.now();
  const cpu = process.cpuUsage();
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
  if (mode === "pack") {
    // process.stdout writes to a pipe synchronously; a socket on the same descriptor writes
    // asynchronously, as the engine's socket does, so reading and writing overlap.
    const out = new Socket({ fd: 1, readable: false, writable: true });
    await new Promise<void>((resolve, reject) => {
      out.once("finish", resolve);
      out.once("error", reject);
      built.stream.on("error", reject);
      built.stream.pipe(out);
    });
  } else if (Docker !== undefined) {
    const docker = new Docker({ socketPath: "/var/run/docker.sock" });
    const response = await docker.buildImage(built.stream, {
      t: tag,
      dockerfile: built.dockerfile,
    });
    const output = await new Promise<{ error?: string }[]>((resolve, reject) => {
      docker.modem.followProgress(response, (error: Error | null, events: unknown[]) =>
        error ? reject(error) : resolve(events as { error?: string }[]),
      );
    });
    const failure = output.find((event) => event.error !== undefined);
    if (failure !== undefined) throw new Error(`build failed: ${failure.error}`);
  }
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
