import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { copyInstruction, parseCopyInstruction, toRunCommand } from "../src/prefect/dockerfile.js";
import { escapeNewlyAssigned, PythonBatch } from "./support/python.js";

const argUnit = fc.oneof(
  { arbitrary: fc.constantFrom("'", '"', "\\", " ", "\n", "\t", "$", "&&", "é", "😀"), weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }), weight: 5 },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 2 },
  {
    arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    weight: 1,
  },
);
const arg = fc.string({ unit: argUnit, maxLength: 10 });
const argList = fc.array(arg, { maxLength: 5 });

const handPicked: [readonly string[], string][] = [
  [[], ""],
  [["echo"], "RUN echo"],
  [["pip", "install", "prefect"], "RUN pip 'install' 'prefect'"],
  [["pip", "install", "prefect>=3,<4"], "RUN pip 'install' 'prefect>=3,<4'"],
  [["echo 'as is'", "it's"], `RUN echo 'as is' "it's"`],
  [["sh", "-c", `echo "it's"`], `RUN sh '-c' 'echo "it\\'s"'`],
  [["printf", "a\nb\\c"], "RUN printf 'a\\nb\\\\c'"],
  [["echo", ""], "RUN echo ''"],
  [["", "x"], "RUN  'x'"],
  [["echo", "héllo", "😀", "\u200b"], "RUN echo 'héllo' '😀' '\\u200b'"],
  [["echo", "\ud800"], "RUN echo '\\ud800'"],
];

const generated = fc.sample(argList, { numRuns: 600, seed: 77 });

const py = new PythonBatch();
const handPickedRefs = handPicked.map(([args]) =>
  py.add({ op: "to_run_command", args: [...args] }),
);
const generatedRefs = generated.map((args) => py.add({ op: "to_run_command", args }));

beforeAll(() => py.run());

describe("toRunCommand", () => {
  it.each(handPicked)("turns %j into %j", (args, expected) => {
    expect(toRunCommand(args)).toBe(expected);
  });

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
