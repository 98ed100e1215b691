// LineTail: the bounded tail of a build's or push's log that errors carry.
import { stripVTControlCharacters } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LOG_TAIL_LINES } from "../../src/defaults.js";
import { LineTail } from "../../src/streams/line-tail.js";

describe("LineTail", () => {
  it(`keeps the last ${LOG_TAIL_LINES} non-empty lines, split across pushes in any way`, () => {
    const tail = new LineTail();
    const text = Array.from({ length: 80 }, (_, i) => `line ${i}\r\n\n`).join("");
    for (let i = 0; i < text.length; i += 7) tail.push(text.slice(i, i + 7));
    tail.push("unfinished");
    expect(tail.lines()).toHaveLength(LOG_TAIL_LINES);
    expect(tail.lines().at(-2)).toBe("line 79");
    expect(tail.lines().at(-1)).toBe("unfinished");
  });

  it("cuts long lines with an ellipsis, never inside a surrogate pair", () => {
    const tail = new LineTail({ lines: 3, maxLineChars: 6 });
    tail.push("abcdefghij\n123456\nab\u{1F600}\u{1F600}\u{1F600}\n");
    expect(tail.lines()).toEqual(["abcde\u2026", "123456", "ab\u{1F600}\u2026"]);
  });

  it("counts what is left after removing escape codes", () => {
    const tail = new LineTail({ maxLineChars: 5 });
    tail.push("\u001b[32mhello\u001b[0m\n");
    expect(tail.lines()).toEqual(["hello"]);
  });

  it("always holds at most the configured lines and characters (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ unit: "binary", maxLength: 60 }),
            fc.constantFrom("\u001b[31m", "\u001b[0m", "\u001b]0;t\u0007", "\r\n", "\n"),
          ),
          { maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 2, max: 20 }),
        (pushes, lines, maxLineChars) => {
          const tail = new LineTail({ lines, maxLineChars });
          for (const text of pushes) tail.push(text);
          const kept = tail.lines();
          expect(kept.length).toBeLessThanOrEqual(lines);
          for (const line of kept) {
            expect(line.length).toBeLessThanOrEqual(maxLineChars);
            expect(line).not.toContain("\n");
            expect(stripVTControlCharacters(line)).toBe(line);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
