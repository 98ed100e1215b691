/**
 * `.dockerignore` patterns with moby's semantics (`patternmatcher.Pattern`), translated as moby
 * translates them to Go regular expressions, and matched in linear time like Go's `regexp`.
 * JavaScript's backtracking `RegExp` would take exponential time on `*a*a…*b` against a long
 * name. moby only emits a flat token list (a code point from a set, `[^/]*`, `.*`, anchors) with
 * one optional group, `(.*\/)?` for `**`, so a match here keeps the set of tokens the input so
 * far may stop before: at most `2 × (input + 1) × tokens` steps, without a native `re2` addon (an
 * install step) or a WASM port (a megabyte). Not split into `/` segments: `[^a]` and `\W` match
 * `/`, and `a**b` is `a(.*\/)?b`, which ends inside a later segment.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";

/** A test of one code point. */
type ClassTest = (codePoint: number) => boolean;

/** A zero-width test of the code points before and after a position (-1 at either end). */
type Assertion = (previous: number, next: number) => boolean;

/**
 * One step of a {@link Program}: one code point `test` accepts, zero or more of them, the next
 * `length` tokens skippable (moby's `(.*\/)?` is `optional(2)`, `.*`, `/`), or an assertion.
 */
type Token =
  | { readonly kind: "one"; readonly test: ClassTest }
  | { readonly kind: "many"; readonly test: ClassTest }
  | { readonly kind: "optional"; readonly length: number }
  | { readonly kind: "assert"; readonly holds: Assertion };

/** A compiled pattern, run by {@link runProgram}. */
type Program = readonly Token[];

/** Go's ASCII word characters (`\w`, and what `\b` looks at). */
function isWord(codePoint: number): boolean {
  return (
    (codePoint >= 0x30 && codePoint <= 0x39) ||
    (codePoint >= 0x41 && codePoint <= 0x5a) ||
    (codePoint >= 0x61 && codePoint <= 0x7a) ||
    codePoint === 0x5f
  );
}

/** `^`, `\A`: at the start. */
const BEGIN: Token = { kind: "assert", holds: (previous) => previous === -1 };
/** `\z` and moby's closing `$`: at the end. */
const END: Token = { kind: "assert", holds: (_previous, next) => next === -1 };
/** `\b` (`true`) or `\B` (`false`). */
const wordBoundary = (boundary: boolean): Token => ({
  kind: "assert",
  holds: (previous, next) => (isWord(previous) !== isWord(next)) === boundary,
});

/** Instructions looked at by the last {@link runProgram} call; tests check it stays linear. */
export let lastRunSteps = 0;

/**
 * Whether `program` matches the whole of `text` (code point by code point, as Go's regexp reads
 * runes). Runs in O(text length × program length).
 */
function runProgram(program: Program, text: string): boolean {
  const size = program.length;
  // live[i] === 1: the text read so far can stop before token i (size: after the last one).
  let live = new Uint8Array(size + 1);
  let following = new Uint8Array(size + 1);
  live[0] = 1;
  let steps = 0;
  let previous = -1;
  for (let position = 0; ; ) {
    const codePoint = position < text.length ? (text.codePointAt(position) as number) : -1;
    // Skips and assertions only lead forward, so one sweep in order closes the set.
    for (let index = 0; index < size; index++) {
      if (live[index] === 0) continue;
      steps++;
      const token = program[index] as Token;
      if (token.kind === "one") continue;
      if (token.kind === "optional") live[index + 1 + token.length] = 1;
      if (token.kind !== "assert" || token.holds(previous, codePoint)) live[index + 1] = 1;
    }
    if (codePoint === -1) break;
    following.fill(0);
    let alive = false;
    for (let index = 0; index < size; index++) {
      if (live[index] === 0) continue;
      steps++;
      const token = program[index] as Token;
      if (token.kind === "one" && token.test(codePoint)) following[index + 1] = 1;
      else if (token.kind === "many" && token.test(codePoint)) following[index] = 1;
      else continue;
      alive = true;
    }
    lastRunSteps = steps;
    if (!alive) return false;
    [live, following] = [following, live];
    previous = codePoint;
    position += codePoint > 0xffff ? 2 : 1;
  }
  lastRunSteps = steps;
  return live[size] === 1;
}

/** Per-pattern results for a folder, handed to its children (moby's `MatchInfo`). */
export type MatchInfo = readonly boolean[];

type MatchKind = "exact" | "prefix" | "suffix" | "regexp";

const SLASH = 0x2f;
const NEWLINE = 0x0a;

/** Characters moby escapes before handing the pattern to Go's regexp engine. */
const MOBY_ESCAPED = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

const isDigit: ClassTest = (code) => code >= 0x30 && code <= 0x39;
const isSpace: ClassTest = (code) =>
  code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d || code === 0x20;

/** Go's Perl classes: what `\d` and friends match in the expression moby builds. */
const PERL_CLASSES: Readonly<Record<string, ClassTest>> = {
  d: isDigit,
  D: (code) => !isDigit(code),
  s: isSpace,
  S: (code) => !isSpace(code),
  w: isWord,
  W: (code) => !isWord(code),
};

const CONTROL_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07,
  f: 0x0c,
  t: 0x09,
  n: 0x0a,
  r: 0x0d,
  v: 0x0b,
};

const one = (test: ClassTest): Token => ({ kind: "one", test });
const literal = (codePoint: number): Token => one((code) => code === codePoint);
const NOT_SLASH: ClassTest = (code) => code !== SLASH;
/** Go's `.*`: a `.` does not match a newline. */
const ANY: Token = { kind: "many", test: (code) => code !== NEWLINE };

/** What `\<letter>` means to Go's regexp; `undefined` for an escape Go does not know. */
function escapeToken(letter: string): Token | undefined {
  const perlClass = PERL_CLASSES[letter];
  const control = CONTROL_ESCAPES[letter];
  if (perlClass !== undefined) return one(perlClass);
  if (control !== undefined) return literal(control);
  if (letter === "b" || letter === "B") return wordBoundary(letter === "b");
  if (letter === "A") return BEGIN;
  if (letter === "z") return END;
  return undefined;
}

function badPattern(pattern: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`syntax error in pattern ${JSON.stringify(pattern)}: ${why}`);
}

/**
 * Checks the pattern with Go's `filepath.Match` syntax rules, as moby does first: unterminated or
 * empty classes, a class item starting with `-` or `]`, and a trailing `\` are errors.
 * @throws InvalidArgumentError naming the pattern.
 */
export function validateGlob(pattern: string): void {
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

/**
 * The test of a `[...]` class body: `-` between two code points makes a range, else is itself.
 * Characters keep `filepath.Match` meanings (moby rewrites `*` and `?` even here: nobody relies
 * on it).
 */
function classTest(items: readonly (number | "-")[], negated: boolean): ClassTest {
  const singles = new Set<number>();
  const ranges: [number, number][] = [];
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as number | "-";
    const high = items[index + 2];
    if (item !== "-" && items[index + 1] === "-" && high !== undefined && high !== "-") {
      ranges.push([item, high]);
      index += 2;
    } else {
      singles.add(item === "-" ? 0x2d : item);
    }
  }
  return (code) => {
    let found = singles.has(code);
    for (let index = 0; !found && index < ranges.length; index++) {
      const [low, high] = ranges[index] as [number, number];
      found = code >= low && code <= high;
    }
    return found !== negated;
  };
}

/**
 * Translates a cleaned pattern into a {@link Program} the way moby's `Pattern.compile` builds a
 * Go regular expression (run in linear time by {@link runProgram}).
 */
function compile(pattern: string): { kind: MatchKind; program: Program } {
  const chars = Array.from(pattern);
  const program: Token[] = [];
  let kind: MatchKind = "exact";
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] ?? "";
    const code = char.codePointAt(0) as number;
    if (char === "*") {
      if (chars[i + 1] === "*") {
        const start = i;
        i++;
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) {
          if (kind === "exact") kind = "prefix";
          else {
            program.push(ANY);
            kind = "regexp";
          }
        } else {
          program.push({ kind: "optional", length: 2 }, ANY, literal(SLASH));
          kind = "regexp";
        }
        if (start === 0) kind = "suffix";
      } else {
        program.push({ kind: "many", test: NOT_SLASH });
        kind = "regexp";
      }
    } else if (char === "?") {
      program.push(one(NOT_SLASH));
      kind = "regexp";
    } else if (MOBY_ESCAPED.has(char)) {
      program.push(literal(code));
    } else if (char === "\\") {
      const next = chars[i + 1];
      if (next === undefined) {
        program.push(literal(code));
        continue;
      }
      i++;
      kind = "regexp";
      if (/^[A-Za-z0-9]$/.test(next)) {
        const token = escapeToken(next);
        if (token === undefined) {
          throw badPattern(pattern, `escape sequence \\${next} is not supported`);
        }
        program.push(token);
      } else {
        program.push(literal(next.codePointAt(0) as number));
      }
    } else if (char === "[") {
      kind = "regexp";
      let end = i + 1;
      const negated = chars[end] === "^";
      if (negated) end++;
      const items: (number | "-")[] = [];
      let first = true;
      while (end < chars.length && (chars[end] !== "]" || first)) {
        first = false;
        let item = chars[end] ?? "";
        if (item === "\\") {
          end++;
          item = chars[end] ?? "";
        }
        items.push(item === "-" && chars[end - 1] !== "\\" ? "-" : (item.codePointAt(0) ?? 0));
        end++;
      }
      program.push(one(classTest(items, negated)));
      i = end;
    } else if (char === "]") {
      kind = "regexp";
      program.push(literal(code));
    } else if (char === "^") {
      // moby passes `^` through to Go's regexp, where it is an anchor.
      program.push(BEGIN);
    } else {
      program.push(literal(code));
    }
  }
  return { kind, program };
}

/** A program for one path segment of a simple glob: `*`, `?` and literals. */
function segmentProgram(segment: string): Program {
  return Array.from(segment, (char): Token => {
    if (char === "*") return { kind: "many", test: NOT_SLASH };
    if (char === "?") return one(NOT_SLASH);
    return literal(char.codePointAt(0) as number);
  });
}

/** One compiled `.dockerignore` pattern with moby's semantics (`patternmatcher.Pattern`). */
export class Pattern {
  readonly exclusion: boolean;
  readonly cleaned: string;
  private readonly kind: MatchKind;
  private readonly program: Program;
  private segmentPrograms: (Program | "any")[] | "any" | undefined;

  /** @throws InvalidArgumentError for an escape Go's regexp does not know. */
  constructor(cleaned: string, exclusion: boolean) {
    this.cleaned = cleaned;
    this.exclusion = exclusion;
    const { kind, program } = compile(cleaned);
    this.kind = kind;
    this.program = program;
  }

  /** Whether the pattern matches `file` itself (moby's `Pattern.match`). */
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
        return runProgram(this.program, file);
    }
  }

  /** Whether it could match a path below `dir`: `true` unless a literal segment rules it out. */
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
          if (!runProgram(segment, dirSegments[index] ?? "")) return false;
        }
        return segments.length > dirSegments.length;
      }
    }
  }

  private segments(): (Program | "any")[] | "any" {
    if (this.segmentPrograms !== undefined) return this.segmentPrograms;
    // Classes can match `/` and escapes can hide one, and `^` is a regexp anchor in moby:
    // give up on pruning for those rather than risk skipping a folder that holds a match.
    if (/[[\\^]/.test(this.cleaned)) {
      this.segmentPrograms = "any";
      return "any";
    }
    this.segmentPrograms = this.cleaned
      .split("/")
      .map((segment) => (segment.includes("**") ? "any" : segmentProgram(segment)));
    return this.segmentPrograms;
  }
}
