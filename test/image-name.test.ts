import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../src/errors.js";
import {
  formatOutlierVersionName,
  parseImageTag,
  splitRepositoryPath,
} from "../src/prefect/image-name.js";
import { parseVersion } from "../src/prefect/prefect-image.js";
import { type PyResult, PythonBatch } from "./support/python.js";

// ---- generators -------------------------------------------------------------------------------

const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, { maxLength: 12 });
const host = fc.oneof(
  fc.constantFrom("localhost", "hostname.io", "registry.example.com", "127.0.0.1", "[::1]"),
  component,
);
const port = fc.integer({ min: 1, max: 65535 }).map(String);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
const digest = fc
  .tuple(fc.constantFrom("sha256", "sha512"), fc.stringMatching(/^[0-9a-f]{8,64}$/))
  .map(([algorithm, hex]) => `${algorithm}:${hex}`);

/** Image names Docker accepts, without tag or digest. */
const validName = fc
  .tuple(
    fc.option(fc.tuple(host, fc.option(port)), { nil: undefined }),
    fc.array(component, { minLength: 1, maxLength: 4 }),
  )
  .map(([registry, path]) => {
    const prefix = registry ? `${registry[0]}${registry[1] ? `:${registry[1]}` : ""}/` : "";
    return `${prefix}${path.join("/")}`;
  });

/** Strings built from the characters these functions split on, valid or not. */
const imageLike = fc
  .array(
    fc.oneof(
      {
        arbitrary: fc.constantFrom("/", ":", "@", "//", "::", "@sha256:", ".", "-ce", "-ee"),
        weight: 3,
      },
      { arbitrary: component, weight: 4 },
      { arbitrary: fc.string({ unit: "binary", maxLength: 3 }), weight: 1 },
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(""));

const outlierVersion = fc
  .array(
    fc.constantFrom("v", "20", ".", "10", "0", "-", "c", "e", "-ce", "-ee", "-c", "-e", "ce", "ee"),
    { maxLength: 10 },
  )
  .map((parts) => parts.join(""));

// ---- Prefect's own tables (tests/utilities/test_image_parsing.py) -----------------------------

const prefectParseImageTag: [string, [string, string | null]][] = [
  ["localhost/simpleimage", ["localhost/simpleimage", null]],
  ["localhost/simpleimage:2.1.1", ["localhost/simpleimage", "2.1.1"]],
  ["prefecthq/prefect", ["prefecthq/prefect", null]],
  ["prefecthq/prefect:2.1.1", ["prefecthq/prefect", "2.1.1"]],
  ["simpleimage", ["simpleimage", null]],
  ["simpleimage:2.1.1", ["simpleimage", "2.1.1"]],
  ["hostname.io/dir/subdir", ["hostname.io/dir/subdir", null]],
  ["hostname.io/dir/subdir:latest", ["hostname.io/dir/subdir", "latest"]],
  ["hostname.io:5050/dir/subdir", ["hostname.io:5050/dir/subdir", null]],
  ["hostname.io:5050/dir/subdir:latest", ["hostname.io:5050/dir/subdir", "latest"]],
  ["prefecthq/prefect@sha256:abcdef1234567890", ["prefecthq/prefect", "sha256:abcdef1234567890"]],
];

const prefectFormatOutlierVersionName: [string, string][] = [
  ["20.10.0", "20.10.0"],
  ["v20.10.10", "v20.10.10"],
  ["v20.10.0-ce", "v20.10.0"],
  ["v20.10.10-ee", "v20.10.10"],
  ["20.10.0-ce", "20.10.0"],
  ["20.10.10-ee", "20.10.10"],
];

const prefectSplitRepositoryPath: [string, [string | null, string]][] = [
  ["localhost/simpleimage", ["localhost", "simpleimage"]],
  ["localhost/simpleimage:2.1.1", ["localhost", "simpleimage:2.1.1"]],
  ["prefecthq/prefect", ["prefecthq", "prefect"]],
  ["prefecthq/prefect:2.1.1", ["prefecthq", "prefect:2.1.1"]],
  ["simpleimage", [null, "simpleimage"]],
  ["simpleimage:2.1.1", [null, "simpleimage:2.1.1"]],
  ["hostname.io/dir/subdir", ["hostname.io/dir", "subdir"]],
  ["hostname.io/dir/subdir:latest", ["hostname.io/dir", "subdir:latest"]],
  ["hostname.io:5050/dir/subdir", ["hostname.io:5050/dir", "subdir"]],
  ["hostname.io:5050/dir/subdir:latest", ["hostname.io:5050/dir", "subdir:latest"]],
];

// ---- edge cases, compared with Python ---------------------------------------------------------

const edgeCases = [
  "",
  "/",
  "//",
  ":",
  "@",
  "a:",
  "a@",
  ":a",
  "a:b:c",
  "a@b@c",
  "a@b:c:d",
  "a:b@c",
  "a/b:c:d",
  "a/b@c@d",
  "a/b@c:d",
  "a@b/c",
  "a:1/b",
  "host:5000/img",
  "host:5000/img:tag:extra",
  "localhost:5000/a/b/c:tag",
  "a//b",
  "a/b/c/d/e",
  "a/b/c/d:e",
  "img:1@sha256:abc",
  "registry.io/team/app@sha256:0123456789abcdef",
  "[::1]:5000/app:v1",
  "UPPER/Case:Tag",
  "dot.in.first/repo",
  "colon:in:first/repo",
  "ünïcödé/ïmage:tåg",
  "emoji😀/img:😀",
  "\ud800/x:y",
  " spaced /name : tag ",
  "a:b:c:d:e:f:g",
  "20.10.0-ce-ee",
  "-c-cee",
  "-e-eee",
  "-ce-ce",
  "v20.10.0-beta1-ce",
];

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

// ---- tests ------------------------------------------------------------------------------------

describe("parseImageTag", () => {
  it.each(prefectParseImageTag)("splits %j into %j (Prefect's table)", (input, expected) => {
    expect(parseImageTag(input)).toEqual(expected);
  });

  it.each([
    ["a:", ["a", ""]],
    ["a@sha256:abc", ["a", "sha256:abc"]],
    ["img:1@sha256:abc", ["img:1", "sha256:abc"]],
    ["host:5000/img", ["host:5000/img", null]],
    ["a@b/c", ["a@b/c", null]],
    ["", ["", null]],
    ["/", ["/", null]],
  ])("keeps Python's reading of the edge case %j: %j", (input, expected) => {
    expect(parseImageTag(input)).toEqual(expected);
  });

  it.each(["a:b:c", "a@b@c", "host/a:b:c", "host:5000/img:tag:extra"])(
    "throws InvalidArgumentError naming %j where Python raises ValueError",
    (input) => {
      expect(() => parseImageTag(input)).toThrow(InvalidArgumentError);
      expect(() => parseImageTag(input)).toThrow(JSON.stringify(input));
      expect(() => parseImageTag(input)).toThrow(
        /valid image name is \[REGISTRY\[:PORT\]\/\]REPOSITORY/,
      );
    },
  );

  it("round-trips name + ':' + tag for valid image names", () => {
    fc.assert(
      fc.property(validName, tag, (name, t) => {
        expect(parseImageTag(`${name}:${t}`)).toEqual([name, t]);
      }),
    );
  });

  it("round-trips name + '@' + digest for valid image names", () => {
    fc.assert(
      fc.property(validName, digest, (name, d) => {
        expect(parseImageTag(`${name}@${d}`)).toEqual([name, d]);
      }),
    );
  });

  it("returns a valid name without tag unchanged", () => {
    fc.assert(
      fc.property(validName, (name) => {
        expect(parseImageTag(name)).toEqual([name, null]);
      }),
    );
  });
});

describe("splitRepositoryPath", () => {
  it.each(prefectSplitRepositoryPath)("splits %j into %j (Prefect's table)", (input, expected) => {
    expect(splitRepositoryPath(input)).toEqual(expected);
  });

  it.each([
    ["a/b/c/d", ["a/b", "c/d"]],
    ["", [null, ""]],
    ["/", ["", ""]],
    ["a//b", ["a/", "b"]],
  ])("keeps Python's split('/', 2) for %j: %j", (input, expected) => {
    expect(splitRepositoryPath(input)).toEqual(expected);
  });

  it("joins back to its input", () => {
    fc.assert(
      fc.property(fc.oneof(imageLike, fc.string()), (input) => {
        const [namespace, repository] = splitRepositoryPath(input);
        expect(namespace === null ? repository : `${namespace}/${repository}`).toBe(input);
      }),
    );
  });
});

describe("formatOutlierVersionName", () => {
  it.each(prefectFormatOutlierVersionName)(
    "turns %j into %j (Prefect's table)",
    (input, expected) => {
      const version = formatOutlierVersionName(input);
      expect(version).toBe(expected);
      // Prefect also checks that packaging.version.parse accepts the result.
      expect(() => parseVersion(version)).not.toThrow();
    },
  );

  it("removes every -ce before any -ee, as Python's chained replace() does", () => {
    expect(formatOutlierVersionName("-c-cee")).toBe("-ce");
    expect(formatOutlierVersionName("20.10.0-ce-ee-ce")).toBe("20.10.0");
  });
});

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
