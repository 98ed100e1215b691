#!/usr/bin/env node
/**
 * The `prefect-dockerutils` executable.
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { enableCompileCache } from "./compile-cache.js";

// A reader that went away (`prefect-dockerutils parse-ref x | head -0`) is no reason to crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  // Asked by scripts and version checks: answered without loading the argument parser.
  const file = new URL("../../package.json", import.meta.url);
  process.stdout.write(
    `${(JSON.parse(readFileSync(file, "utf8")) as { version: string }).version}\n`,
  );
} else {
  // Before the command line's modules load, so that they are cached.
  enableCompileCache();
  const { runCli } = await import("./run-cli.js");
  const code = await runCli(args, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signals: process,
    exitNow: (exitCode) => process.exit(exitCode),
  });
  process.exitCode = code;
  // Everything is cleaned up by now; a socket an engine keeps open must not hold the exit.
  setTimeout(() => process.exit(code), 2_000).unref();
}
