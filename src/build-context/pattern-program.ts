/**
 * Linear-time matching of the regular expressions moby builds from `.dockerignore` patterns.
 *
 * moby translates a pattern to a Go regular expression, and Go's `regexp` runs in time linear in
 * the input. Handing the same expression to JavaScript's backtracking `RegExp` is not safe:
 * `*a*a*a…*b` against a long name takes exponential time with the event loop blocked. moby only
 * ever emits a handful of constructs (literals, `[^/]*`, `[^/]`, `.*`, an optional `.*` and `/`,
 * character classes, a few escapes and anchors), so instead of a regular-expression library (a native
 * `re2` addon costs an install step and start-up time; a WASM port loads a megabyte) they are
 * compiled here to a small Thompson NFA and simulated Pike-style: every input code point is
 * looked at once per program instruction, so a match costs at most `(input + 1) × program`
 * steps whatever the pattern.
 * @module
 */

/** Consumes one code point equal to `arg`. */
const LITERAL = 0;
/** Consumes one code point different from `arg`. */
const NOT = 1;
/** Consumes one code point accepted by `classes[arg]`. */
const CLASS = 2;
/** Continues at `arg` and at `arg2`. */
const SPLIT = 3;
/** Continues at `arg`. */
const JUMP = 4;
/** Zero-width assertion `arg` (one of the ASSERT_* values). */
const ASSERT = 5;
/** The whole input has been consumed: a match. */
const MATCH = 6;

const ASSERT_BEGIN = 0;
const ASSERT_END = 1;
const ASSERT_WORD = 2;
const ASSERT_NOT_WORD = 3;

/** One code point test of a character class. */
export type ClassTest = (codePoint: number) => boolean;

/** A compiled pattern: an NFA program run by {@link runProgram}. */
export interface Program {
  readonly ops: readonly number[];
  readonly args: readonly number[];
  readonly args2: readonly number[];
  readonly classes: readonly ClassTest[];
}

/** Builds a {@link Program} instruction by instruction. */
export class ProgramBuilder {
  private readonly ops: number[] = [];
  private readonly args: number[] = [];
  private readonly args2: number[] = [];
  private readonly classes: ClassTest[] = [];

  /** Index of the next instruction. */
  get next(): number {
    return this.ops.length;
  }

  private emit(op: number, arg = 0, arg2 = 0): number {
    this.ops.push(op);
    this.args.push(arg);
    this.args2.push(arg2);
    return this.ops.length - 1;
  }

  /** Matches exactly `codePoint`. */
  literal(codePoint: number): void {
    this.emit(LITERAL, codePoint);
  }

  /** Matches any code point but `codePoint`. */
  not(codePoint: number): void {
    this.emit(NOT, codePoint);
  }

  /** Matches a code point `test` accepts. */
  oneOf(test: ClassTest): void {
    this.classes.push(test);
    this.emit(CLASS, this.classes.length - 1);
  }

  /** Zero or more code points different from `codePoint` (`[^/]*`, or Go's `.*` for `\n`). */
  starNot(codePoint: number): void {
    const split = this.emit(SPLIT);
    this.not(codePoint);
    this.emit(JUMP, split);
    this.args[split] = split + 1;
    this.args2[split] = this.next;
  }

  /** Optionally matches what `body` emits (`(…)?`). */
  optional(body: () => void): void {
    const split = this.emit(SPLIT);
    body();
    this.args[split] = split + 1;
    this.args2[split] = this.next;
  }

  /** `^` or `\A`. */
  assertBegin(): void {
    this.emit(ASSERT, ASSERT_BEGIN);
  }

  /** `\z` (and the `$` moby appends). */
  assertEnd(): void {
    this.emit(ASSERT, ASSERT_END);
  }

  /** `\b` (`true`) or `\B` (`false`), with Go's ASCII word characters. */
  assertWordBoundary(boundary: boolean): void {
    this.emit(ASSERT, boundary ? ASSERT_WORD : ASSERT_NOT_WORD);
  }

  /** Finishes the program. */
  build(): Program {
    this.emit(MATCH);
    return { ops: this.ops, args: this.args, args2: this.args2, classes: this.classes };
  }
}

function isWord(codePoint: number): boolean {
  return (
    (codePoint >= 0x30 && codePoint <= 0x39) ||
    (codePoint >= 0x41 && codePoint <= 0x5a) ||
    (codePoint >= 0x61 && codePoint <= 0x7a) ||
    codePoint === 0x5f
  );
}

/** Instructions looked at by the last {@link runProgram} call; tests check it stays linear. */
export let lastRunSteps = 0;

/**
 * Whether `program` matches the whole of `text` (code point by code point, as Go's regexp reads
 * runes). Runs in O(text length × program length).
 */
export function runProgram(program: Program, text: string): boolean {
  const { ops, args, args2, classes } = program;
  const size = ops.length;
  let current = new Int32Array(size);
  let next = new Int32Array(size);
  let currentCount = 0;
  let nextCount = 0;
  // marks[pc] === generation: pc is already in the list being built.
  const marks = new Int32Array(size).fill(-1);
  const stack = new Int32Array(size);
  let generation = 0;
  let steps = 0;
  let previous = -1;
  let position = 0;

  /** Adds `start` and everything reachable from it without consuming input to `list`. */
  const close = (start: number, list: Int32Array, count: number, codePoint: number): number => {
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const pc = stack[--top] as number;
      if (marks[pc] === generation) continue;
      marks[pc] = generation;
      steps++;
      switch (ops[pc]) {
        case SPLIT:
          // Pushed in reverse so the first branch is explored first (order does not matter for
          // a yes/no answer, but keeps the lists in a stable order).
          stack[top++] = args2[pc] as number;
          stack[top++] = args[pc] as number;
          break;
        case JUMP:
          stack[top++] = args[pc] as number;
          break;
        case ASSERT: {
          const kind = args[pc];
          let holds: boolean;
          if (kind === ASSERT_BEGIN) holds = position === 0;
          else if (kind === ASSERT_END) holds = codePoint === -1;
          else {
            const boundary =
              (previous !== -1 && isWord(previous)) !== (codePoint !== -1 && isWord(codePoint));
            holds = kind === ASSERT_WORD ? boundary : !boundary;
          }
          if (holds) stack[top++] = pc + 1;
          break;
        }
        default:
          list[count++] = pc;
      }
    }
    return count;
  };

  let codePoint = text.length > 0 ? (text.codePointAt(0) as number) : -1;
  currentCount = close(0, current, 0, codePoint);
  while (codePoint !== -1 && currentCount > 0) {
    const width = codePoint > 0xffff ? 2 : 1;
    const following =
      position + width < text.length ? (text.codePointAt(position + width) as number) : -1;
    generation++;
    nextCount = 0;
    const consumed = codePoint;
    previous = consumed;
    position += width;
    for (let index = 0; index < currentCount; index++) {
      const pc = current[index] as number;
      steps++;
      const op = ops[pc];
      const arg = args[pc] as number;
      let accepted = false;
      if (op === LITERAL) accepted = consumed === arg;
      else if (op === NOT) accepted = consumed !== arg;
      else if (op === CLASS) accepted = (classes[arg] as ClassTest)(consumed);
      if (accepted) nextCount = close(pc + 1, next, nextCount, following);
    }
    [current, next] = [next, current];
    currentCount = nextCount;
    codePoint = following;
  }
  lastRunSteps = steps;
  if (codePoint !== -1) return false;
  for (let index = 0; index < currentCount; index++) {
    if (ops[current[index] as number] === MATCH) return true;
  }
  return false;
}
