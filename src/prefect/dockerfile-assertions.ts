/**
 * Prefect's Dockerfile assertions (`assert_has_line`, `assert_line_absent`, ...), with its
 * messages to the letter: the test helpers of `ImageBuilder`.
 * @module
 */

import { assertionError } from "../lazy-builtins.js";
import { pythonRepr } from "../python/repr.js";

/** Asserts that `line` is in the Dockerfile. */
export function assertHasLine(lines: readonly string[], line: string): void {
  const allLines = numbered(lines);
  const message = `Expected ${pythonRepr(line)} not found in Dockerfile.  Dockerfile:\n${allLines}`;
  if (!lines.includes(line)) throw new (assertionError())({ message });
}

/** Asserts that `line` is not in the Dockerfile. */
export function assertLineAbsent(lines: readonly string[], line: string): void {
  const index = lines.indexOf(line);
  if (index === -1) return;
  const surrounding = numbered(pySlice(lines, index - 2, index + 2));
  throw new (assertionError())({
    message: `Unexpected ${pythonRepr(line)} found in Dockerfile at line ${index + 1}.  Surrounding lines:\n${surrounding}`,
  });
}

/** Asserts that `first` appears before `second`. */
export function assertLineBefore(lines: readonly string[], first: string, second: string): void {
  assertHasLine(lines, first);
  assertHasLine(lines, second);
  const firstIndex = lines.indexOf(first);
  const secondIndex = lines.indexOf(second);
  if (firstIndex < secondIndex) return;
  const surrounding = numbered(pySlice(lines, secondIndex - 2, firstIndex + 2));
  throw new (assertionError())({
    message:
      `Expected ${pythonRepr(first)} to appear before ${pythonRepr(second)} in the Dockerfile, but ` +
      `${pythonRepr(first)} was at line ${firstIndex + 1} and ${pythonRepr(second)} as at line ` +
      `${secondIndex + 1}.  Surrounding lines:\n${surrounding}`,
  });
}

/** Prefect's `f"  {i + 1:>3}: {line}"` listing, numbered from 1 whatever the slice. */
function numbered(lines: readonly string[]): string {
  return lines.map((line, i) => `  ${String(i + 1).padStart(3)}: ${line}`).join("\n");
}

/** Python's `list[start:stop]`, including its negative indices. */
function pySlice<T>(items: readonly T[], start: number, stop: number): T[] {
  const norm = (index: number) =>
    index < 0 ? Math.max(items.length + index, 0) : Math.min(index, items.length);
  return items.slice(norm(start), Math.max(norm(start), norm(stop)));
}
