#!/usr/bin/env node
/**
 * The `prefect-dockerutils` executable: runs the command line on this process's arguments,
 * streams and signals, and exits with its code.
 * @module
 */
import process from "node:process";
import { runCli } from "./run-cli.js";

// A reader that went away (`prefect-dockerutils parse-ref x | head -0`) is no reason to crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}

const code = await runCli(process.argv.slice(2), {
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
