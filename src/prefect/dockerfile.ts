/**
 * Dockerfile lines: Prefect's `to_run_command`, ImageBuilder's COPY lines, the default Dockerfile.
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
 * Prefect's `generate_default_dockerfile` lines for a folder named `dirName` (`requirements`: it
 * has a `requirements.txt`), byte for byte but for names the parser or `sh` would split, quoted to
 * read back as one path. No argument may hold control characters (the callers check).
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

/** `value` as one `sh` word: as is only when every character is on an allow-list (`;` is not). */
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
