/**
 * Linear-time matching of the Go regular expressions moby builds from `.dockerignore` patterns.
 * JavaScript's backtracking `RegExp` would take exponential time on `*a*a…*b` against a long
 * name. moby only emits a flat token list (a code point from a set, `[^/]*`, `.*`, anchors) with
 * one optional group, `(.*\/)?` for `**`, so a match here keeps the set of tokens the input so
 * far may stop before: at most `2 × (input + 1) × tokens` steps, without a native `re2` addon (an
 * install step) or a WASM port (a megabyte). Not split into `/` segments: `[^a]` and `\W` match
 * `/`, and `a**b` is `a(.*\/)?b`, which ends inside a later segment.
 * @module
 */

/** A test of one code point. */
export type ClassTest = (codePoint: number) => boolean;

/** A zero-width test of the code points before and after a position (-1 at either end). */
export type Assertion = (previous: number, next: number) => boolean;

/**
 * One step of a {@link Program}: one code point `test` accepts, zero or more of them, the next
 * `length` tokens skippable (moby's `(.*\/)?` is `optional(2)`, `.*`, `/`), or an assertion.
 */
export type Token =
  | { readonly kind: "one"; readonly test: ClassTest }
  | { readonly kind: "many"; readonly test: ClassTest }
  | { readonly kind: "optional"; readonly length: number }
  | { readonly kind: "assert"; readonly holds: Assertion };

/** A compiled pattern, run by {@link runProgram}. */
export type Program = readonly Token[];

/** Go's ASCII word characters (`\w`, and what `\b` looks at). */
export function isWord(codePoint: number): boolean {
  return (
    (codePoint >= 0x30 && codePoint <= 0x39) ||
    (codePoint >= 0x41 && codePoint <= 0x5a) ||
    (codePoint >= 0x61 && codePoint <= 0x7a) ||
    codePoint === 0x5f
  );
}

/** `^`, `\A`: at the start. */
export const BEGIN: Token = { kind: "assert", holds: (previous) => previous === -1 };
/** `\z` and moby's closing `$`: at the end. */
export const END: Token = { kind: "assert", holds: (_previous, next) => next === -1 };
/** `\b` (`true`) or `\B` (`false`). */
export const wordBoundary = (boundary: boolean): Token => ({
  kind: "assert",
  holds: (previous, next) => (isWord(previous) !== isWord(next)) === boundary,
});

/** Instructions looked at by the last {@link runProgram} call; tests check it stays linear. */
export let lastRunSteps = 0;

/**
 * Whether `program` matches the whole of `text` (code point by code point, as Go's regexp reads
 * runes). Runs in O(text length × program length).
 */
export function runProgram(program: Program, text: string): boolean {
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
