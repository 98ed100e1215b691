/**
 * One measured client process of the multi-platform benchmark: one `buildMultiPlatformImage` of
 * two platforms, through the library's public API (compiled, loaded from `PDU_BENCH_LIB` as users
 * import it). Prints the index digest.
 *
 * Usage: PDU_BENCH_LIB=<index.js> node multi-platform-child.js <context> <reference>
 * @module
 */

interface Library {
  buildMultiPlatformImage(
    context: string,
    reference: string,
    options: Record<string, unknown>,
  ): Promise<{ digest: string }>;
  IMAGE_LABELS: Record<string, string>;
}

async function main(): Promise<void> {
  const [context, reference] = process.argv.slice(2);
  const libraryPath = process.env.PDU_BENCH_LIB;
  if (context === undefined || reference === undefined || !libraryPath) {
    throw new Error(
      "usage: PDU_BENCH_LIB=<index.js> multi-platform-child.js <context> <reference>",
    );
  }
  const library = (await import(libraryPath)) as Library;
  library.IMAGE_LABELS["io.prefect-dockerutils.bench"] = "multi-platform";
  const image = await library.buildMultiPlatformImage(context, reference, {
    platforms: ["linux/amd64", "linux/arm64"],
    networkMode: "host",
    retries: 0,
  });
  process.stdout.write(`${image.digest}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
