/**
 * One measured client process of the BuildKit benchmark: `count` BuildKit builds of one context,
 * one after the other, through the library's public `buildImage` (compiled, loaded from
 * `PDU_BENCH_LIB` as users import it). Each build gets its own cache-busting `BUST` argument.
 *
 * Images get the label `io.prefect-dockerutils.bench=buildkit`, by which the benchmark removes
 * them afterwards.
 *
 * With `PDU_BENCH_PHASES=1` it prints, on stderr, how long the engine says each step took, as
 * the docker CLI's `--progress plain` does (`#5 DONE 1.9s`, from the engine's own timestamps),
 * for `buildkit-phases.ts` to compare.
 *
 * Usage: PDU_BENCH_LIB=<index.js> node buildkit-child.js <context> <count>
 * @module
 */

interface Library {
  buildImage(context: string, options: Record<string, unknown>): Promise<string>;
  IMAGE_LABELS: Record<string, string>;
}

/** The fields of the library's `vertex` progress event that the phases report reads. */
interface Vertex {
  type: string;
  number: number;
  name: string;
  state: string;
  started?: Date;
  completed?: Date;
}

async function main(): Promise<void> {
  const [context, countText = "1"] = process.argv.slice(2);
  const libraryPath = process.env.PDU_BENCH_LIB;
  if (context === undefined || !libraryPath) {
    throw new Error("usage: PDU_BENCH_LIB=<index.js> buildkit-child.js <context> <count>");
  }
  const library = (await import(libraryPath)) as Library;
  library.IMAGE_LABELS["io.prefect-dockerutils.bench"] = "buildkit";
  const phases = process.env.PDU_BENCH_PHASES === "1";
  const lines: string[] = [];
  const onProgress = (event: Vertex) => {
    if (event.type !== "vertex" || event.started === undefined) return;
    if (event.state === "cached")
      lines.push(`#${event.number} ${event.name}`, `#${event.number} CACHED`);
    if (event.state !== "completed" || event.completed === undefined) return;
    const seconds = (event.completed.getTime() - event.started.getTime()) / 1000;
    lines.push(`#${event.number} ${event.name}`, `#${event.number} DONE ${seconds.toFixed(1)}s`);
  };
  for (let index = 0; index < Number(countText); index++) {
    await library.buildImage(context, {
      builder: "buildkit",
      networkMode: "host",
      buildArgs: { BUST: `${process.pid}-${index}-${Date.now()}` },
      retries: 0,
      ...(phases ? { onProgress } : {}),
    });
  }
  if (phases) process.stderr.write(`${lines.join("\n")}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
