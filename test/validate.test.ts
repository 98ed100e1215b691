// The shared option checks of src/validate.ts.
import { describe, expect, it } from "vitest";
import { parseGoBool } from "../src/validate.js";

describe("parseGoBool", () => {
  // Go's strconv.ParseBool: exactly these spellings, case as listed.
  it.each(["1", "t", "T", "TRUE", "true", "True"])("reads %j as true", (value) => {
    expect(parseGoBool(value)).toBe(true);
  });

  it.each(["0", "f", "F", "FALSE", "false", "False"])("reads %j as false", (value) => {
    expect(parseGoBool(value)).toBe(false);
  });

  it.each(["", "yes", "no", "on", "off", "tRUE", "fAlse", " 1", "1 ", "2", "y"])(
    "reads %j as neither (Go returns an error)",
    (value) => {
      expect(parseGoBool(value)).toBeUndefined();
    },
  );
});
