/**
 * `.dockerignore` parsing and matching with the Docker CLI's semantics: a port of moby's
 * `patternmatcher/ignorefile.ReadAll` and `patternmatcher.PatternMatcher`.
 *
 * `@balena/dockerignore` is not used because it differs from moby in ways users notice: it matches
 * case-insensitively by default, escapes only `.` and `$` (so `(`, `+`, `{`, `|` become regex
 * syntax and `proxy.py-2.4.0+g08acad9.whl` never matches itself), checks only one parent folder
 * against each pattern instead of every ancestor, accepts malformed patterns such as `[`, and
 * exposes nothing a walker needs to skip excluded folders without reading them.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";

/** Go's `unicode.IsSpace` set, which `strings.TrimSpace` uses (JavaScript's `trim` differs). */
const GO_SPACE =
  "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const LEADING_SPACE = new RegExp(`^[${GO_SPACE}]+`);
const TRAILING_SPACE = new RegExp(`[${GO_SPACE}]+$`);

function trimSpace(text: string): string {
  return text.replace(LEADING_SPACE, "").replace(TRAILING_SPACE, "");
}

/**
 * Go's `path.Clean`: collapses `//`, `.` and `..`, drops a trailing `/`, returns `.` for nothing.
 * @example cleanPath("./a//b/../c/") // "a/c"
 */
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
 * Reads the lines of a `.dockerignore` file the way the Docker CLI does (moby's
 * `ignorefile.ReadAll`): a UTF-8 BOM is dropped, lines starting with `#` are comments, blank lines
 * are skipped, each pattern is trimmed and cleaned, and a leading `/` is removed (`/foo` means
 * `foo`), also after `!`.
 * @example parseDockerignore("# deps\nnode_modules\n!/node_modules/keep\n") // ["node_modules", "!node_modules/keep"]
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

/** Per-pattern results for a folder, handed to its children (moby's `MatchInfo`). */
export type MatchInfo = readonly boolean[];

type MatchKind = "exact" | "prefix" | "suffix" | "regexp";

/** Characters moby escapes before handing the pattern to Go's regexp engine. */
const MOBY_ESCAPED = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

function literal(char: string): string {
  return /^[A-Za-z0-9_]$/.test(char) ? char : `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`;
}

const GO_PERL_CLASSES: Readonly<Record<string, string>> = {
  d: "[0-9]",
  D: "[^0-9]",
  s: "[\\t\\n\\f\\r ]",
  S: "[^\\t\\n\\f\\r ]",
  w: "[0-9A-Za-z_]",
  W: "[^0-9A-Za-z_]",
  b: "\\b",
  B: "\\B",
  A: "^",
  z: "$",
  a: "\\u{7}",
  f: "\\f",
  t: "\\t",
  n: "\\n",
  r: "\\r",
  v: "\\v",
};

function badPattern(pattern: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`syntax error in pattern ${JSON.stringify(pattern)}: ${why}`);
}

/**
 * Checks the pattern with Go's `filepath.Match` syntax rules, which moby applies to every pattern
 * before using it: unterminated or empty character classes, a class item starting with `-` or `]`,
 * and a trailing `\` are errors.
 */
function validateGlob(pattern: string): void {
  const chars = Array.from(pattern);
  let i = 0;
  const classChar = (): string => {
    let char = chars[i];
    if (char === undefined || char === "-" || char === "]") {
      throw badPattern(pattern, "malformed character class");
    }
    if (char === "\\") {
      i++;
      char = chars[i];
      if (char === undefined) throw badPattern(pattern, "unterminated escape");
    }
    i++;
    if (i >= chars.length) throw badPattern(pattern, "unterminated character class");
    return char;
  };
  while (i < chars.length) {
    const char = chars[i];
    if (char === "\\") {
      i += 2;
      if (i > chars.length) throw badPattern(pattern, "trailing backslash");
    } else if (char === "[") {
      i++;
      if (chars[i] === "^") i++;
      let items = 0;
      for (;;) {
        if (chars[i] === "]" && items > 0) {
          i++;
          break;
        }
        const low = classChar();
        if (chars[i] === "-") {
          i++;
          const high = classChar();
          if ((low.codePointAt(0) ?? 0) > (high.codePointAt(0) ?? 0)) {
            // Go's regexp rejects it when moby compiles the pattern.
            throw badPattern(pattern, "invalid character class range");
          }
        }
        items++;
      }
    } else {
      i++;
    }
  }
}

/** One compiled `.dockerignore` pattern (moby's `Pattern`). */
class Pattern {
  readonly exclusion: boolean;
  readonly cleaned: string;
  readonly kind: MatchKind;
  readonly regexp: RegExp | undefined;
  private segmentMatchers: (RegExp | "any")[] | "any" | undefined;

  constructor(cleaned: string, exclusion: boolean) {
    this.cleaned = cleaned;
    this.exclusion = exclusion;
    const { kind, source } = compile(cleaned);
    this.kind = kind;
    this.regexp = kind === "regexp" ? new RegExp(source, "u") : undefined;
  }

  match(file: string): boolean {
    switch (this.kind) {
      case "exact":
        return file === this.cleaned;
      case "prefix":
        return file.startsWith(this.cleaned.slice(0, -2));
      case "suffix": {
        // moby compares by plain string suffix here: `**file` also matches `dir/afile`.
        const suffix = this.cleaned.slice(2);
        if (file.endsWith(suffix)) return true;
        return suffix.startsWith("/") && file === suffix.slice(1);
      }
      case "regexp":
        return this.regexp?.test(file) ?? false;
    }
  }

  /**
   * Whether this pattern could match some path strictly below `dir`. Conservative: `true` unless
   * a literal segment rules it out, so it never prunes a folder that holds a match.
   */
  mayMatchBelow(dir: string): boolean {
    const dirSlash = `${dir}/`;
    switch (this.kind) {
      case "exact":
        return this.cleaned.startsWith(dirSlash);
      case "prefix": {
        const prefix = this.cleaned.slice(0, -2);
        return dirSlash.startsWith(prefix) || prefix.startsWith(dirSlash);
      }
      case "suffix":
        return true;
      case "regexp": {
        const segments = this.segments();
        if (segments === "any") return true;
        const dirSegments = dir.split("/");
        for (let index = 0; index < dirSegments.length; index++) {
          const segment = segments[index];
          if (segment === undefined) return false;
          if (segment === "any") return true;
          if (!segment.test(dirSegments[index] ?? "")) return false;
        }
        return segments.length > dirSegments.length;
      }
    }
  }

  private segments(): (RegExp | "any")[] | "any" {
    if (this.segmentMatchers !== undefined) return this.segmentMatchers;
    // Classes can match `/` and escapes can hide one, and `^` is a regexp anchor in moby:
    // give up on pruning for those rather than risk skipping a folder that holds a match.
    if (/[[\\^]/.test(this.cleaned)) {
      this.segmentMatchers = "any";
      return "any";
    }
    this.segmentMatchers = this.cleaned.split("/").map((segment) => {
      if (segment.includes("**")) return "any";
      let source = "^";
      for (const char of segment) {
        if (char === "*") source += "[^/]*";
        else if (char === "?") source += "[^/]";
        else source += literal(char);
      }
      return new RegExp(`${source}$`, "u");
    });
    return this.segmentMatchers;
  }
}

/**
 * Translates a cleaned pattern the way moby's `Pattern.compile` does, emitting a JavaScript
 * regular expression with the meaning of the Go one moby builds. Inside `[...]` the characters
 * keep `filepath.Match` meanings (moby rewrites `*` and `?` even there, which nobody relies on).
 */
function compile(pattern: string): { kind: MatchKind; source: string } {
  const chars = Array.from(pattern);
  let kind: MatchKind = "exact";
  let source = "^";
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] ?? "";
    if (char === "*") {
      if (chars[i + 1] === "*") {
        const start = i;
        i++;
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) {
          if (kind === "exact") kind = "prefix";
          else {
            source += "[^\\n]*";
            kind = "regexp";
          }
        } else {
          // Go's `.` does not match a newline; JavaScript's also skips `\r`, `\u2028` and `\u2029`.
          source += "(?:[^\\n]*/)?";
          kind = "regexp";
        }
        if (start === 0) kind = "suffix";
      } else {
        source += "[^/]*";
        kind = "regexp";
      }
    } else if (char === "?") {
      source += "[^/]";
      kind = "regexp";
    } else if (MOBY_ESCAPED.has(char)) {
      source += literal(char);
    } else if (char === "\\") {
      const next = chars[i + 1];
      if (next === undefined) {
        source += literal("\\");
        continue;
      }
      i++;
      kind = "regexp";
      if (/^[A-Za-z0-9]$/.test(next)) {
        const translated = GO_PERL_CLASSES[next];
        if (translated === undefined) {
          throw badPattern(pattern, `escape sequence \\${next} is not supported`);
        }
        source += translated;
      } else {
        source += literal(next);
      }
    } else if (char === "[") {
      kind = "regexp";
      let end = i + 1;
      let body = "[";
      if (chars[end] === "^") {
        body += "^";
        end++;
      }
      let first = true;
      while (end < chars.length && (chars[end] !== "]" || first)) {
        first = false;
        let item = chars[end] ?? "";
        if (item === "\\") {
          end++;
          item = chars[end] ?? "";
        }
        if (item === "-" && chars[end - 1] !== "\\") body += "-";
        else body += literal(item);
        end++;
      }
      source += `${body}]`;
      i = end;
    } else if (char === "]") {
      kind = "regexp";
      source += literal("]");
    } else if (char === "^") {
      // moby passes `^` through to Go's regexp, where it is an anchor.
      source += "^";
    } else {
      source += literal(char);
    }
  }
  return { kind, source: `${source}$` };
}

/**
 * Matches slash-separated paths against `.dockerignore` patterns exactly like moby's
 * `patternmatcher`: later patterns override earlier ones, `!` marks an exception, and a pattern
 * that matches a folder matches everything below it.
 * @example
 * const matcher = new PatternMatcher(["docs", "!docs/README.md"]);
 * matcher.matches("docs/intro.md"); // true: excluded
 * matcher.matches("docs/README.md"); // false: sent
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

  /** Whether there are no patterns at all. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /**
   * Whether `file` is excluded, checking every parent folder too (moby's `MatchesOrParentMatches`).
   */
  matches(file: string): boolean {
    const parts = file.split("/");
    let info: MatchInfo | undefined;
    for (let index = 0; index < parts.length - 1; index++) {
      info = this.matchesUsingParentResults(parts.slice(0, index + 1).join("/"), info).info;
    }
    return this.matchesUsingParentResults(file, info).matched;
  }

  /**
   * moby's `MatchesUsingParentResults`: matches `file` given the results of its parent folder, as
   * a walker does. Pass `undefined` for entries at the top of the context.
   */
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
   * Whether an exception could re-include something below the excluded folder `dir` (whose own
   * results are `info`), so the folder must still be walked. `false` means it can be skipped
   * unread. Exceptions `dir` already matched cannot flip its children, so only the others count.
   */
  mayIncludeBelow(dir: string, info: MatchInfo): boolean {
    if (!this.exclusions) return false;
    return this.patterns.some(
      (pattern, index) => pattern.exclusion && info[index] !== true && pattern.mayMatchBelow(dir),
    );
  }
}
