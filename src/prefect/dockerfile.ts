/**
 * Dockerfile lines: Prefect's `to_run_command`, the COPY lines `ImageBuilder` writes and Prefect's
 * default Dockerfile.
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

/** `value` as one word the builder's shlex reads back as itself (in COPY's JSON form, WORKDIR). */
function shlexWord(value: string): string {
  return value.replace(SHLEX_SPECIAL, "\\$&");
}

/**
 * `COPY <source> <destination>`: Prefect's plain form when the parser reads it back as these two
 * paths, else the JSON form with shlex escapes (`COPY ["a b", "/x y"]`). Neither path may hold
 * control characters (the caller checks).
 */
export function copyInstruction(source: string, destination: string): string {
  if (!NEEDS_JSON_FORM.test(source) && !NEEDS_JSON_FORM.test(destination)) {
    return `COPY ${source} ${destination}`;
  }
  return `COPY [${JSON.stringify(shlexWord(source))}, ${JSON.stringify(shlexWord(destination))}]`;
}

/**
 * The lines of Prefect's default Dockerfile (`generate_default_dockerfile`): `FROM baseImage`, a
 * COPY of `requirements.txt` and `RUN uv pip install -r` when `requirements` is set, then the
 * folder copied to `/opt/prefect/<dirName>/` and made the `WORKDIR`. Prefect's text byte for
 * byte, except that a name the parser or `sh` would split is quoted so it reads back as one path.
 * Neither argument may hold control characters (the callers check, each with its own message).
 */
export function defaultDockerfileLines(
  baseImage: string,
  dirName: string,
  requirements: boolean,
): string[] {
  const target = `/opt/prefect/${dirName}/`;
  const lines = [`FROM ${baseImage}`];
  if (requirements) {
    lines.push(copyInstruction("requirements.txt", `${target}requirements.txt`));
    lines.push(`RUN uv pip install -r ${shellWord(`${target}requirements.txt`)}`);
  }
  lines.push(copyInstruction(".", target));
  lines.push(`WORKDIR ${shlexWord(target)}`);
  return lines;
}

/**
 * `value` as one `/bin/sh` word: as is when every character is one sh leaves alone (an allow-list,
 * so a folder named `flows;id` cannot start a second command), else single-quoted.
 */
function shellWord(value: string): string {
  return /^[\w./@%+=:,-]+$/u.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A Dockerfile's text as Prefect writes it: each line newline-terminated. */
export function dockerfileText(lines: readonly string[]): string {
  return lines.map((line) => `${line}\n`).join("");
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
