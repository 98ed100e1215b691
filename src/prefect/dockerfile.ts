/**
 * Dockerfile lines: Prefect's `to_run_command` and the COPY lines `ImageBuilder` writes.
 * @module
 */
import { pythonRepr } from "../python/repr.js";

/**
 * A `RUN` line exactly like Prefect's `to_run_command`: the command as is, then Python's `repr()`
 * of each argument (a Python literal, not always the shell word one might expect); `""` for an
 * empty list.
 *
 * @example
 * ```ts
 * toRunCommand(["pip", "install", "prefect>=3"]); // "RUN pip 'install' 'prefect>=3'"
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
 * `COPY <source> <destination>`: Prefect's plain form when the parser reads it back as these two
 * paths, else the JSON form with shlex escapes (`COPY ["a b", "/x y"]`). Neither path may hold
 * control characters (the caller checks).
 */
export function copyInstruction(source: string, destination: string): string {
  if (!NEEDS_JSON_FORM.test(source) && !NEEDS_JSON_FORM.test(destination)) {
    return `COPY ${source} ${destination}`;
  }
  const word = (value: string) => JSON.stringify(value.replace(SHLEX_SPECIAL, "\\$&"));
  return `COPY [${word(source)}, ${word(destination)}]`;
}

/** The two paths of a flagless `COPY` line in either form, as the engine reads them. */
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
