import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import { getPrefectImageName, PREFECT_VERSION } from "../../src/prefect/prefect-image.js";
import { parseVersion } from "../../src/python/parse-version.js";
import {
  checkout,
  imageArgs,
  invalidVersions,
  normalisations,
  PYTHON_VERSION,
  prefectDevVersionInfo,
  prefectImageNames,
} from "../support/prefect-image-cases.js";

// ---- tests ------------------------------------------------------------------------------------

describe("getPrefectImageName", () => {
  it.each(prefectImageNames)(
    "names the image for version %j, python %j, flavor %j: %s (Prefect's table)",
    (version, python, flavor, expected) => {
      expect(getPrefectImageName(version, python, flavor, checkout)).toBe(expected);
    },
  );

  it.each(prefectDevVersionInfo)(
    "keeps the development info of %j: %s (Prefect's table)",
    (version, expected) => {
      expect(getPrefectImageName(version, undefined, undefined, checkout)).toBe(expected);
    },
  );

  it("defaults to the targeted Prefect release and, before any detection, DEFAULT_PYTHON_VERSION", () => {
    expect(getPrefectImageName()).toBe(
      `prefecthq/prefect:${PREFECT_VERSION}-python${PYTHON_VERSION}`,
    );
    expect(getPrefectImageName("", "", "")).toBe(getPrefectImageName());
  });

  it.each([
    ["3.0.0-rc.1", "prefecthq/prefect:3.0.0rc1-python3.12"],
    ["v3.0", "prefecthq/prefect:3.0-python3.12"],
    ["3.0.0.DEV0", "prefecthq/prefect:3.0.0.dev0-python3.12"],
    ["1!2.0", "prefecthq/prefect:1-2.0-python3.12"],
  ])("normalises %j in the tag: %s", (version, expected) => {
    expect(getPrefectImageName(version, "3.12")).toBe(expected);
  });

  it("takes the first 7 hex digits of the label's g<sha> segment before asking git", () => {
    const gitShortSha = () => {
      throw new Error("git must not be consulted");
    };
    expect(getPrefectImageName("3.0.0+12.gABCDEF0123.dirty", "3.12", null, { gitShortSha })).toBe(
      "prefecthq/prefect-dev:sha-abcdef0-python3.12",
    );
  });

  it("asks git for the SHA when the local label names no commit", () => {
    expect(
      getPrefectImageName("3.0.0+local", "3.12", "conda", { gitShortSha: () => "1234abc" }),
    ).toBe("prefecthq/prefect-dev:sha-1234abc-python3.12-conda");
  });

  it("runs no git: a local label without a commit needs options.gitShortSha", () => {
    expect(() => getPrefectImageName("3.0.0+local", "3.12")).toThrow(InvalidArgumentError);
    expect(() => getPrefectImageName("3.0.0+local", "3.12")).toThrow(
      /options\.gitShortSha, or call resolvePrefectImageName\(\)/,
    );
  });

  it("throws naming the version when no commit SHA can be found", () => {
    const call = () =>
      getPrefectImageName("3.0.0+local", "3.12", null, { gitShortSha: () => null });
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(
      /No commit SHA could be found for Prefect version '3\.0\.0\+local'.*pass a version whose local label names the commit/,
    );
  });

  it("throws packaging's InvalidVersion text for an invalid version", () => {
    expect(() => getPrefectImageName("not a version")).toThrow(InvalidArgumentError);
    expect(() => getPrefectImageName("not a version")).toThrow(/^Invalid version: 'not a version'/);
  });

  it.each([
    ["flavor", "3.12", "北京"],
    ["flavor", "3.12", "a&amp;b"],
    ["pythonVersion", "३.१२", null],
  ])("refuses a %s Prefect would transliterate, naming it: %j %j", (name, python, flavor) => {
    expect(() => getPrefectImageName("3.0.0", python, flavor, checkout)).toThrow(
      new RegExp(`^${name} holds characters Prefect would transliterate`),
    );
  });

  it("keeps tags to Docker's characters and 128 characters", () => {
    fc.assert(
      fc.property(imageArgs, ([version, python, flavor]) => {
        // A character reference (`&amp;`) is refused by design (tested above): not a tag to check.
        fc.pre(![python, flavor].some((text) => /&#?[A-Za-z0-9]+;/.test(text ?? "")));
        const name = getPrefectImageName(version, python, flavor, checkout);
        expect(name).toMatch(/^prefecthq\/prefect(-dev)?:[a-zA-Z0-9_.-]{1,128}$/);
      }),
      { numRuns: 300 },
    );
  });
});

describe("parseVersion", () => {
  it.each(normalisations)(
    "normalises %j like packaging: public %j, local %j, base %j",
    (input, pub, local, base) => {
      expect(parseVersion(input)).toEqual({ public: pub, local, baseVersion: base });
    },
  );

  it.each(invalidVersions)("rejects %j with packaging's message", (input) => {
    expect(() => parseVersion(input)).toThrow(InvalidArgumentError);
    expect(() => parseVersion(input)).toThrow(`Invalid version: '${input}'`);
  });

  it("keeps numbers beyond 2^53 exact, as Python's int() does", () => {
    expect(parseVersion("1!99999999999999999999.0a12345678901234567890.post0.dev00001")).toEqual({
      public: "1!99999999999999999999.0a12345678901234567890.post0.dev1",
      local: null,
      baseVersion: "1!99999999999999999999.0",
    });
    expect(parseVersion("1.0+abc.0012345678901234567890").local).toBe("abc.12345678901234567890");
  });
});
