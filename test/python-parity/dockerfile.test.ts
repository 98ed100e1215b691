// Differential tests against /usr/bin/python3 (the "python" vitest project).
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { toRunCommand } from "../../src/prefect/dockerfile.js";
import { argList, handPicked } from "../support/dockerfile-cases.js";
import { escapeNewlyAssigned, PythonBatch } from "../support/python.js";

const generated = fc.sample(argList, { numRuns: 600, seed: 77 });

const py = new PythonBatch();
const handPickedRefs = handPicked.map(([args]) =>
  py.add({ op: "to_run_command", args: [...args] }),
);
const generatedRefs = generated.map((args) => py.add({ op: "to_run_command", args }));

beforeAll(() => py.run());

describe("parity of toRunCommand with Prefect's to_run_command in /usr/bin/python3", () => {
  it("matches Prefect's to_run_command in /usr/bin/python3 on every hand-picked list", () => {
    handPicked.forEach(([args], i) => {
      const python = py.value<{ command: string }>(handPickedRefs[i] ?? -1);
      expect(toRunCommand(args), JSON.stringify(args)).toBe(python.command);
    });
  });

  it("matches Prefect's to_run_command in /usr/bin/python3 on 600 generated lists", () => {
    const mismatches = generated.flatMap((args, i) => {
      const python = py.value<{ command: string; unassigned: number[] }>(generatedRefs[i] ?? -1);
      const ours = toRunCommand(args);
      // Only the repr()'d arguments can differ, and only by Unicode version (see pythonRepr).
      const prefix = args.length > 0 ? `RUN ${args[0]}` : "";
      const comparable = prefix + escapeNewlyAssigned(ours.slice(prefix.length), python.unassigned);
      return comparable === python.command ? [] : [{ args, ours, python: python.command }];
    });
    expect(mismatches).toEqual([]);
  });
});
