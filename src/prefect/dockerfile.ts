/**
 * Dockerfile text helpers ported from `prefect.utilities.dockerutils`.
 * @module
 */

import { pythonRepr } from "../python/repr.js";

/**
 * Turns a process-style argument list into one Dockerfile `RUN` instruction, exactly like
 * Prefect's `to_run_command`.
 *
 * The first argument is written as is; every later one as Python's `repr()` of it (single-quoted
 * unless it contains `'` but no `"`), joined by spaces. This is what Prefect emits, so generated
 * Dockerfiles are byte-identical; note that a Python literal is not always the shell word one
 * might expect (`'\n'` stays a backslash and an `n` for `/bin/sh`).
 *
 * @param args - the command and its arguments.
 * @returns the `RUN` line, or `""` for an empty list.
 * @example
 * ```ts
 * toRunCommand(["pip", "install", "prefect>=3"]); // "RUN pip 'install' 'prefect>=3'"
 * toRunCommand([]);                               // ""
 * ```
 */
export function toRunCommand(args: readonly string[]): string {
  const [command, ...rest] = args;
  if (command === undefined) return "";
  let runCommand = `RUN ${command}`;
  if (rest.length > 0) runCommand += ` ${rest.map(pythonRepr).join(" ")}`;
  return runCommand;
}
