import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  formatOutlierVersionName,
  parseImageTag,
  splitRepositoryPath,
} from "../../src/prefect/image-name.js";
import { parseVersion } from "../../src/python/parse-version.js";
import {
  digest,
  imageLike,
  prefectFormatOutlierVersionName,
  prefectParseImageTag,
  prefectSplitRepositoryPath,
  tag,
  validName,
} from "../support/image-name-cases.js";

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
