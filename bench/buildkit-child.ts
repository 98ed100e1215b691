/**
 * One measured client process of the BuildKit benchmark: `count` BuildKit builds of one context,
 * one after the other, through the library's public `buildImage` (compiled, loaded from
 * `PDU_BENCH_LIB` as users import it). Each build gets its own cache-busting `BUST` argument.
 *
 * Images get the label `io.prefect-dockerutils.bench=buildkit`, by which the benchmark removes
 * them afterwards.
 *
 * Usage: PDU_BENCH_LIB=<index.js> node buildkit-child.js <context> <count>
 * @module
 */

interface Library {
  buildImage(context: string, options: Record<string, unknown>): Promise<string>;
  IMAGE_LABELS: Record<string, string>;
}

async function main(): Promise<void> {
  const [context, countText = "1"] = process.argv.slice(2);
  const libraryPath = process.env.PDU_BENCH_LIB;
  if (context === undefined || !libraryPath) {
    throw new Error("usage: PDU_BENCH_LIB=<index.js> buildkit-child.js <context> <count>");
  }
  const library = (await import(libraryPath)) as Library;
  library.IMAGE_LABELS["io.prefect-dockerutils.bench"] = "buildkit";
  for (let index = 0; index < Number(countText); index++) {
    await library.buildImage(context, {
      builder: "buildkit",
      networkMode: "host",
      buildArgs: { BUST: `${process.pid}-${index}-${Date.now()}` },
      retries: 0,
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
