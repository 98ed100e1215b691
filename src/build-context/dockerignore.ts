/**
 * A port of moby's `patternmatcher/ignorefile.ReadAll` and `patternmatcher.PatternMatcher`.
 * Not `@balena/dockerignore`, which differs in ways users notice: case-insensitive by default,
 * escapes only `.` and `$` (`proxy.py-2.4.0+g08acad9.whl` never matches itself), checks one
 * parent folder instead of every ancestor, accepts `[`, and cannot tell a walker what to skip.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";
import { type MatchInfo, Pattern, validateGlob } from "./moby-pattern.js";

export type { MatchInfo } from "./moby-pattern.js";

/** Go's `unicode.IsSpace` set, which `strings.TrimSpace` uses (JavaScript's `trim` differs). */
function isGoSpace(code: number): boolean {
  return (
    (code >= 0x09 && code <= 0x0d) ||
    code === 0x20 ||
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/** `strings.TrimSpace`, by index: a regular expression here would be quadratic on long runs. */
function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isGoSpace(text.charCodeAt(start))) start++;
  while (end > start && isGoSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Go's `path.Clean`: `cleanPath("./a//b/../c/")` is `"a/c"`, and `""` is `"."`. */
export function cleanPath(value: string): string {
  const rooted = value.startsWith("/");
  const out: string[] = [];
  for (const segment of value.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(segment);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/**
 * The patterns of a `.dockerignore` text as moby's `ignorefile.ReadAll` reads them: no BOM, no
 * `#` comments or blank lines, each trimmed and cleaned, a leading `/` removed (also after `!`).
 */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index] ?? "";
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (index === 0 && line.startsWith("\ufeff")) line = line.slice(1);
    // A comment only when `#` is the very first character: "  # x" is a pattern, as in moby.
    if (line.startsWith("#")) continue;
    let pattern = trimSpace(line);
    if (pattern === "") continue;
    const invert = pattern.startsWith("!");
    if (invert) pattern = trimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  }
  return patterns;
}

/**
 * Matches slash-separated paths against `.dockerignore` patterns like moby's `patternmatcher`:
 * later patterns override earlier ones, `!` marks an exception, and a pattern that matches a
 * folder matches everything below it.
 */
export class PatternMatcher {
  private readonly patterns: Pattern[] = [];
  /** Whether any pattern is an exception (`!`). */
  readonly exclusions: boolean;

  /**
   * @param patterns Patterns as returned by {@link parseDockerignore}.
   * @throws InvalidArgumentError for `!` alone or a pattern Go's `filepath.Match` rejects.
   */
  constructor(patterns: readonly string[]) {
    let exclusions = false;
    for (const raw of patterns) {
      let pattern = trimSpace(raw);
      if (pattern === "") continue;
      pattern = cleanPath(pattern);
      let exclusion = false;
      if (pattern.startsWith("!")) {
        if (pattern.length === 1) throw new InvalidArgumentError('illegal exclusion pattern: "!"');
        exclusion = true;
        exclusions = true;
        pattern = pattern.slice(1);
      }
      validateGlob(pattern);
      this.patterns.push(new Pattern(pattern, exclusion));
    }
    this.exclusions = exclusions;
  }

  /** Whether there are no patterns. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether `file` is excluded, checking every parent folder too (moby's `MatchesOrParentMatches`). */
  matches(file: string): boolean {
    const parts = file.split("/");
    let info: MatchInfo | undefined;
    for (let index = 0; index < parts.length - 1; index++) {
      info = this.matchesUsingParentResults(parts.slice(0, index + 1).join("/"), info).info;
    }
    return this.matchesUsingParentResults(file, info).matched;
  }

  /** moby's `MatchesUsingParentResults`; `parent` is `undefined` at the top of the context. */
  matchesUsingParentResults(
    file: string,
    parent: MatchInfo | undefined,
  ): { matched: boolean; info: MatchInfo } {
    let matched = false;
    const info: boolean[] = new Array<boolean>(this.patterns.length);
    for (let index = 0; index < this.patterns.length; index++) {
      const pattern = this.patterns[index] as Pattern;
      let match = parent?.[index] ?? false;
      if (!match) {
        if (pattern.exclusion !== matched) {
          info[index] = false;
          continue;
        }
        match = pattern.match(file);
        if (!match && parent === undefined) {
          const slash = file.lastIndexOf("/");
          if (slash > 0) {
            const parentDirs = file.slice(0, slash).split("/");
            for (let depth = 1; depth <= parentDirs.length && !match; depth++) {
              match = pattern.match(parentDirs.slice(0, depth).join("/"));
            }
          }
        }
      }
      info[index] = match;
      if (match) matched = !pattern.exclusion;
    }
    return { matched, info };
  }

  /**
   * Whether an exception `dir` did not match already (`info`) could re-include something below
   * the excluded folder `dir`; `false` means it can be skipped unread.
   */
  mayIncludeBelow(dir: string, info: MatchInfo): boolean {
    if (!this.exclusions) return false;
    return this.mayMatchBelow(dir, info, true);
  }

  /** Whether a pattern (an exception with `exclusion`) not matched by `dir` could match below it. */
  mayMatchBelow(dir: string, info: MatchInfo, exclusion = false): boolean {
    return this.patterns.some(
      (pattern, index) =>
        pattern.exclusion === exclusion && info[index] !== true && pattern.mayMatchBelow(dir),
    );
  }
}
