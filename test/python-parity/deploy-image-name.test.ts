// Differential test against /usr/bin/python3 (the "python" vitest project): the deploy steps'
// image-name check counts as white space exactly what prefect-docker's `char.isspace()` does.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { validateStepImageName } from "../../src/deploy/deploy-image-name.js";
import { PYTHON } from "../support/python.js";

describe("parity of the steps' image-name check with prefect-docker's _validate_image_name", () => {
  it("rejects exactly the characters Python's str.isspace() accepts (the Basic Multilingual Plane's first 0x3100)", () => {
    const python = execFileSync(
      PYTHON,
      ["-c", "print(','.join(str(c) for c in range(0x3100) if chr(c).isspace()))"],
      { encoding: "utf8" },
    )
      .trim()
      .split(",")
      .map(Number);
    const ours: number[] = [];
    for (let code = 0; code < 0x3100; code++) {
      try {
        validateStepImageName(`a${String.fromCharCode(code)}b`);
      } catch {
        ours.push(code);
      }
    }
    expect(ours).toEqual(python);
  });
});
