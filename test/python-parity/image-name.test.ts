// Differential tests against /usr/bin/python3 (the "python" vitest project).
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  formatOutlierVersionName,
  parseImageTag,
  splitRepositoryPath,
} from "../../src/prefect/image-name.js";
import {
  digest,
  edgeCases,
  imageLike,
  outlierVersion,
  prefectFormatOutlierVersionName,
  prefectParseImageTag,
  tag,
  validName,
} from "../support/image-name-cases.js";
import { type PyResult, PythonBatch } from "../support/python.js";

const generatedImageLike = fc.sample(imageLike, { numRuns: 800, seed: 4242 });
const generatedValid = fc
  .sample(
    fc.tuple(
      validName,
      fc.option(
        fc.oneof(
          tag.map((t) => `:${t}`),
          digest.map((d) => `@${d}`),
        ),
        { nil: "" },
      ),
    ),
    { numRuns: 300, seed: 99 },
  )
  .map(([name, suffix]) => name + suffix);
const generatedOutliers = fc.sample(outlierVersion, { numRuns: 300, seed: 7 });

const py = new PythonBatch();
type Refs = { input: string; parse: number; split: number; outlier: number };
const queue = (inputs: readonly string[]): Refs[] =>
  inputs.map((input) => ({
    input,
    parse: py.add({ op: "parse_image_tag", s: input }),
    split: py.add({ op: "split_repository_path", s: input }),
    outlier: py.add({ op: "format_outlier_version_name", s: input }),
  }));
const prefectRefs = queue([
  ...prefectParseImageTag.map(([input]) => input),
  ...prefectFormatOutlierVersionName.map(([input]) => input),
]);
const edgeRefs = queue(edgeCases);
const generatedRefs = queue([...generatedImageLike, ...generatedValid, ...generatedOutliers]);

beforeAll(() => py.run());

/** Runs `fn` the way Python ran it: same value, or an error where Python raised. */
function compareWithPython(fn: () => unknown, python: PyResult, input: string): string | null {
  let ours: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    ours = { ok: true, value: fn() };
  } catch (error) {
    ours = { ok: false, error };
  }
  if (python.ok && ours.ok) {
    return JSON.stringify(ours.value) === JSON.stringify(python.value)
      ? null
      : `${JSON.stringify(input)}: ours ${JSON.stringify(ours.value)}, Python ${JSON.stringify(python.value)}`;
  }
  if (!python.ok && !ours.ok) {
    const named =
      ours.error instanceof InvalidArgumentError &&
      ours.error.message.includes(JSON.stringify(input)) &&
      python.type === "ValueError";
    return named
      ? null
      : `${JSON.stringify(input)}: Python ${python.type}, ours ${String(ours.error)}`;
  }
  return `${JSON.stringify(input)}: ours ${ours.ok ? JSON.stringify(ours.value) : String(ours.error)}, Python ${python.ok ? JSON.stringify(python.value) : `${python.type}: ${python.message}`}`;
}

function compareAll(refs: readonly Refs[]): string[] {
  return refs.flatMap(({ input, parse, split, outlier }) =>
    [
      compareWithPython(() => parseImageTag(input), py.result(parse), input),
      compareWithPython(() => splitRepositoryPath(input), py.result(split), input),
      compareWithPython(() => formatOutlierVersionName(input), py.result(outlier), input),
    ].filter((mismatch): mismatch is string => mismatch !== null),
  );
}

describe("parity with Prefect's dockerutils in /usr/bin/python3", () => {
  it("agrees on Prefect's tables", () => {
    expect(compareAll(prefectRefs)).toEqual([]);
  });

  it(`agrees on ${edgeCases.length} hand-picked edge cases (x3 functions)`, () => {
    expect(compareAll(edgeRefs)).toEqual([]);
  });

  it(`agrees on ${generatedRefs.length} generated names (x3 functions)`, () => {
    expect(compareAll(generatedRefs)).toEqual([]);
    // The batch really exercises both outcomes of parse_image_tag.
    const raised = generatedRefs.filter(({ parse }) => !py.result(parse).ok).length;
    expect(raised).toBeGreaterThan(20);
    expect(raised).toBeLessThan(generatedRefs.length - 20);
  });
});
