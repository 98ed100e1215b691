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

// The classic builder and BuildKit split a plain COPY line on whitespace before anything else, and
// then expand `$VAR`, quotes and backslashes in each word (shlex `ProcessWord`); a leading `-`
// would be read as a flag. Prefect's plain text is kept wherever none of these can happen.
const NEEDS_JSON_FORM = /[\s\\$'"]|^-/u;
const SHLEX_SPECIAL = /[\\$'"]/gu;

/**
 * The `COPY <source> <destination>` line for two paths: Prefect's plain form when the Dockerfile
 * parser reads it back as these two paths, else the JSON form with shlex escapes
 * (`COPY ["a b", "/x y"]`), which the parser never splits and whose escapes survive the engine's
 * `$VAR` and quote processing. Neither path may hold control characters (the caller checks).
 *
 * @example
 * ```ts
 * copyInstruction("hello.txt", "/app/hello.txt"); // "COPY hello.txt /app/hello.txt"
 * copyInstruction("my file", "/app/my file");     // 'COPY ["my file", "/app/my file"]'
 * ```
 */
export function copyInstruction(source: string, destination: string): string {
  if (!NEEDS_JSON_FORM.test(source) && !NEEDS_JSON_FORM.test(destination)) {
    return `COPY ${source} ${destination}`;
  }
  const word = (value: string) => JSON.stringify(value.replace(SHLEX_SPECIAL, "\\$&"));
  return `COPY [${word(source)}, ${word(destination)}]`;
}

/**
 * The source and destination of a two-path `COPY` line without flags, in either form, as the
 * engine will read them (shlex escapes removed); `undefined` for any other line.
 */
export function parseCopyInstruction(line: string): [string, string] | undefined {
  const match = /^COPY\s+(.*)$/su.exec(line.trim());
  const rest = match?.[1];
  if (rest === undefined) return undefined;
  let words: unknown;
  if (rest.startsWith("[")) {
    try {
      words = JSON.parse(rest);
    } catch {
      words = undefined;
    }
  }
  if (Array.isArray(words)) {
    if (words.length !== 2 || !words.every((word) => typeof word === "string")) return undefined;
    const [source, destination] = words.map((word: string) => word.replace(/\\(.)/gsu, "$1"));
    return [source as string, destination as string];
  }
  const plain = rest.split(/[\t\v\f\r ]+/u);
  if (plain.length !== 2 || plain.some((word) => word === "" || word.startsWith("--"))) {
    return undefined;
  }
  return plain as [string, string];
}
