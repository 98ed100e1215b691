import fc from "fast-check";

// ---- generators -------------------------------------------------------------------------------

export const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, { maxLength: 12 });
export const host = fc.oneof(
  fc.constantFrom("localhost", "hostname.io", "registry.example.com", "127.0.0.1", "[::1]"),
  component,
);
export const port = fc.integer({ min: 1, max: 65535 }).map(String);
export const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
export const digest = fc
  .tuple(fc.constantFrom("sha256", "sha512"), fc.stringMatching(/^[0-9a-f]{8,64}$/))
  .map(([algorithm, hex]) => `${algorithm}:${hex}`);

/** Image names Docker accepts, without tag or digest. */
export const validName = fc
  .tuple(
    fc.option(fc.tuple(host, fc.option(port)), { nil: undefined }),
    fc.array(component, { minLength: 1, maxLength: 4 }),
  )
  .map(([registry, path]) => {
    const prefix = registry ? `${registry[0]}${registry[1] ? `:${registry[1]}` : ""}/` : "";
    return `${prefix}${path.join("/")}`;
  });

/** Strings built from the characters these functions split on, valid or not. */
export const imageLike = fc
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

export const outlierVersion = fc
  .array(
    fc.constantFrom("v", "20", ".", "10", "0", "-", "c", "e", "-ce", "-ee", "-c", "-e", "ce", "ee"),
    { maxLength: 10 },
  )
  .map((parts) => parts.join(""));

// ---- Prefect's own tables (tests/utilities/test_image_parsing.py) -----------------------------

export const prefectParseImageTag: [string, [string, string | null]][] = [
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

export const prefectFormatOutlierVersionName: [string, string][] = [
  ["20.10.0", "20.10.0"],
  ["v20.10.10", "v20.10.10"],
  ["v20.10.0-ce", "v20.10.0"],
  ["v20.10.10-ee", "v20.10.10"],
  ["20.10.0-ce", "20.10.0"],
  ["20.10.10-ee", "20.10.10"],
];

export const prefectSplitRepositoryPath: [string, [string | null, string]][] = [
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

export const edgeCases = [
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
