import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  copyInstruction,
  parseCopyInstruction,
  toRunCommand,
} from "../../src/prefect/dockerfile.js";
import { arg, handPicked } from "../support/dockerfile-cases.js";

describe("toRunCommand", () => {
  it.each(handPicked)("turns %j into %j", (args, expected) => {
    expect(toRunCommand(args)).toBe(expected);
  });

  it("starts every non-empty command with RUN and the first argument verbatim", () => {
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 5 }), (args) => {
        expect(toRunCommand(args).startsWith(`RUN ${args[0]}`)).toBe(true);
      }),
    );
  });

  it("returns an empty string for an empty list", () => {
    expect(toRunCommand([])).toBe("");
  });
});

describe("copyInstruction", () => {
  const pathText = fc.string({
    unit: fc.constantFrom("a", "/", ".", " ", "'", '"', "$", "\\", "-", "é", "\u00a0", "\u2028"),
    minLength: 1,
    maxLength: 12,
  });

  it("is read back by the parser as the same two paths (property)", () => {
    fc.assert(
      fc.property(pathText, pathText, (source, destination) => {
        expect(parseCopyInstruction(copyInstruction(source, destination))).toEqual([
          source,
          destination,
        ]);
      }),
    );
  });

  it("is a single line whatever the paths hold", () => {
    fc.assert(
      fc.property(pathText, pathText, (source, destination) => {
        expect(copyInstruction(source, destination)).not.toMatch(/[\n\r]/);
      }),
    );
  });
});
