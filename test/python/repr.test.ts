import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pythonRepr } from "../../src/python/repr.js";
import { handPicked, reprString } from "../support/repr-cases.js";

describe("pythonRepr", () => {
  it.each(handPicked)("quotes %j as Python does: %s", (input, expected) => {
    expect(pythonRepr(input)).toBe(expected);
  });

  it("always returns a quoted literal of printable ASCII or printable non-ASCII", () => {
    fc.assert(
      fc.property(reprString, (input) => {
        const quoted = pythonRepr(input);
        expect(quoted[0]).toMatch(/['"]/);
        expect(quoted.at(-1)).toBe(quoted[0]);
        expect(quoted).not.toMatch(/[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]/u);
      }),
      { numRuns: 500 },
    );
  });
});
