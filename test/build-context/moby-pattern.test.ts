import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cleanPath,
  PatternMatcher,
  parseDockerignore,
} from "../../src/build-context/dockerignore.js";
import { lastRunSteps, Pattern, validateGlob } from "../../src/build-context/moby-pattern.js";
import { oracleMatch } from "../support/moby-regexp-oracle.js";

describe("matching in linear time", () => {
  // `*a*a…*a*b` took 53 s against a 60-character name when compiled to a backtracking RegExp.
  const stars = (count: number) => `${"*a".repeat(count)}*b`;

  it.each([
    [stars(30), "a".repeat(60)],
    [stars(200), "a".repeat(4000)],
    [`${"?*".repeat(50)}b`, "a".repeat(4000)],
    [`**/${"*a".repeat(40)}/x`, `${"a/".repeat(500)}${"a".repeat(200)}`],
    [`[ab]*${"[ab]*".repeat(40)}c`, "ab".repeat(2000)],
    [`a/${"**/".repeat(60)}*a*a*a*b`, `${"a/".repeat(2000)}${"a".repeat(100)}`],
    [`${"a**".repeat(60)}b`, `${"a/".repeat(2000)}a`],
    [`x${"[^x]*".repeat(60)}y`, `x${"a/".repeat(2000)}`],
  ])("matches %j against a long name in bounded steps", (pattern, name) => {
    const compiled = new Pattern(pattern, false);
    expect(compiled.match(name)).toBe(false);
    // Every code point meets each instruction at most a few times (closure plus step).
    const programSize = pattern.length * 3 + 4;
    expect(lastRunSteps).toBeLessThanOrEqual((name.length + 1) * programSize * 2);
  });

  it("prunes folders with the same guarantee", () => {
    const matcher = new PatternMatcher([stars(40), `!${stars(40)}/keep`]);
    const dir = "a".repeat(3000);
    const { info } = matcher.matchesUsingParentResults(dir, undefined);
    expect(matcher.mayIncludeBelow(dir, info)).toBe(false);
    expect(lastRunSteps).toBeLessThanOrEqual(3001 * 300 * 2);
  });

  it("answers like the backtracking translation it replaces, on short inputs", () => {
    const atom = fc.constantFrom(
      "a",
      "b",
      "*",
      "**",
      "?",
      "/",
      ".",
      "[ab]",
      "[^a]",
      "\\*",
      "^",
      "+",
    );
    const patterns = fc.array(atom, { minLength: 1, maxLength: 7 }).map((parts) => parts.join(""));
    const files = fc
      .array(fc.constantFrom("a", "b", "/", ".", "*", "+", "\n"), { maxLength: 10 })
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(patterns, files, (raw, file) => {
        const pattern = cleanPath(raw);
        let expected: boolean;
        try {
          validateGlob(pattern);
          expected = oracleMatch(pattern, file);
        } catch {
          return; // rejected patterns are covered by the syntax tests
        }
        expect([pattern, file, new Pattern(pattern, false).match(file)]).toEqual([
          pattern,
          file,
          expected,
        ]);
      }),
      { numRuns: 3000 },
    );
  });

  it("trims long runs of spaces without quadratic work", () => {
    const line = `${" ".repeat(200_000)}x${" ".repeat(200_000)}\n`;
    expect(parseDockerignore(line.repeat(5))).toEqual(["x", "x", "x", "x", "x"]);
  });
});
