import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../src/errors.js";
import {
  DEFAULT_PYTHON_VERSION,
  getPrefectImageName,
  PREFECT_VERSION,
  type PrefectImageNameOptions,
  parseVersion,
  probePythonVersion,
  pythonVersionMicro,
  pythonVersionMinor,
} from "../src/prefect/prefect-image.js";
import { type PyResult, PythonBatch } from "./support/python.js";

/**
 * Prefect's tests read COMMIT_SHA from git (they run in a Prefect checkout). This package is not
 * one, so the SHA is injected, or carried by the version's local label.
 */
const COMMIT_SHA = "abc1234";
/** Stands in for `prefect.__version__` of a development install: it has a local label. */
const DEV_VERSION = `3.1.0.dev4+12.g${COMMIT_SHA}`;
const PYTHON_VERSION = pythonVersionMinor();
const checkout: PrefectImageNameOptions = {
  defaultPrefectVersion: DEV_VERSION,
  gitShortSha: () => COMMIT_SHA,
};

// ---- Prefect's tables (tests/utilities/test_dockerutils.py) -----------------------------------

const prefectImageNames: [string | null, string | null, string | null, string][] = [
  [null, null, null, `prefecthq/prefect-dev:sha-${COMMIT_SHA}-python${PYTHON_VERSION}`],
  [null, "3.9", null, `prefecthq/prefect-dev:sha-${COMMIT_SHA}-python3.9`],
  [null, "3.10", null, `prefecthq/prefect-dev:sha-${COMMIT_SHA}-python3.10`],
  [null, "3.11", null, `prefecthq/prefect-dev:sha-${COMMIT_SHA}-python3.11`],
  [null, "3.12", null, `prefecthq/prefect-dev:sha-${COMMIT_SHA}-python3.12`],
  [null, null, "conda", `prefecthq/prefect-dev:sha-${COMMIT_SHA}-python${PYTHON_VERSION}-conda`],
  ["3.0.0", null, null, `prefecthq/prefect:3.0.0-python${PYTHON_VERSION}`],
  [
    `3.0.0+1.g${COMMIT_SHA}`,
    null,
    null,
    `prefecthq/prefect-dev:sha-${COMMIT_SHA}-python${PYTHON_VERSION}`,
  ],
];

const prefectDevVersionInfo: [string, string][] = [
  ["3.0.0.dev0", `prefecthq/prefect:3.0.0.dev0-python${PYTHON_VERSION}`],
  ["3.0.0a1", `prefecthq/prefect:3.0.0a1-python${PYTHON_VERSION}`],
  ["3.0.0b1", `prefecthq/prefect:3.0.0b1-python${PYTHON_VERSION}`],
  ["3.0.0rc1", `prefecthq/prefect:3.0.0rc1-python${PYTHON_VERSION}`],
  [
    `3.0.0.dev0+1.g${COMMIT_SHA}`,
    `prefecthq/prefect-dev:sha-${COMMIT_SHA}-python${PYTHON_VERSION}`,
  ],
  [`3.0.0a1+1.g${COMMIT_SHA}`, `prefecthq/prefect-dev:sha-${COMMIT_SHA}-python${PYTHON_VERSION}`],
  ["3.0.0", `prefecthq/prefect:3.0.0-python${PYTHON_VERSION}`],
  ["2.17.1", `prefecthq/prefect:2.17.1-python${PYTHON_VERSION}`],
];

// ---- versions ---------------------------------------------------------------------------------

const normalisations: [string, string, string | null, string][] = [
  // [input, public, local, base_version]
  ["3.0.0-rc.1", "3.0.0rc1", null, "3.0.0"],
  ["v3.0", "3.0", null, "3.0"],
  ["3.0.0.DEV0", "3.0.0.dev0", null, "3.0.0"],
  ["1!2.0", "1!2.0", null, "1!2.0"],
  ["0!2.0", "2.0", null, "2.0"],
  [" 3.0.0\n", "3.0.0", null, "3.0.0"],
  ["3.00.010", "3.0.10", null, "3.0.10"],
  ["1.0-1", "1.0.post1", null, "1.0"],
  ["1.0.r", "1.0.post0", null, "1.0"],
  ["1.0c1", "1.0rc1", null, "1.0"],
  ["1.0.preview-2", "1.0rc2", null, "1.0"],
  ["1.0alpha", "1.0a0", null, "1.0"],
  ["1.0+ABC-01_x", "1.0", "abc.1.x", "1.0"],
  ["1.99999999999999999999", "1.99999999999999999999", null, "1.99999999999999999999"],
  ["1.0.poſt1", "1.0.post1", null, "1.0"],
  ["1.0+\u212a", "1.0", "k", "1.0"],
  ["1.0prevıew2", "1.0prevıew2", null, "1.0"],
];

const invalidVersions = ["x", "1.0 + a", "1.0-", "\ufeff1.0", "1.0\u200b", "1.0.devı", "K"];

const versionUnit = fc.constantFrom(
  "v",
  "V",
  " ",
  "\n",
  "\x1c",
  "\x85",
  "\u3000",
  "\ufeff",
  "1",
  "0",
  "00",
  "12",
  "99999999999999999999",
  "!",
  ".",
  "-",
  "_",
  "+",
  "a",
  "b",
  "c",
  "rc",
  "alpha",
  "beta",
  "pre",
  "preview",
  "PREVIEW",
  "post",
  "rev",
  "r",
  "dev",
  "DEV",
  "g",
  "abc1234",
  "gABCDEF0123",
  "local",
  "ı",
  "İ",
  "ſ",
  "\u212a",
  "é",
  "x",
);
/** Mostly well-formed PEP 440 versions with every optional part and spelling. */
const pep440 = fc
  .record({
    lead: fc.constantFrom("", "", "v", "V", " "),
    epoch: fc.constantFrom("", "", "1!", "0!", "01!"),
    release: fc.array(fc.constantFrom("0", "1", "2", "10", "007", "99999999999999999999"), {
      minLength: 1,
      maxLength: 4,
    }),
    pre: fc.constantFrom(
      "",
      "",
      "a1",
      "b2",
      "rc3",
      "-rc.1",
      "_alpha",
      ".beta4",
      "c",
      "pre",
      "preview5",
    ),
    post: fc.constantFrom("", "", "-1", ".post2", "post", "-r3", "_rev"),
    dev: fc.constantFrom("", "", ".dev0", "dev", "-DEV7", "_dev"),
    local: fc.constantFrom(
      "",
      "",
      "+1.gabc1234",
      "+local",
      "+A-b_C.01",
      "+12.gABCDEF012.dirty",
      "+g123",
    ),
    trail: fc.constantFrom("", "", " ", "\n"),
  })
  .map((v) => v.lead + v.epoch + v.release.join(".") + v.pre + v.post + v.dev + v.local + v.trail);
const versionish = fc.oneof(
  pep440,
  fc.array(versionUnit, { maxLength: 8 }).map((parts) => parts.join("")),
);

const generatedVersions = fc.sample(versionish, { numRuns: 1000, seed: 440 });

// ---- image names ------------------------------------------------------------------------------

const flavorish = fc.oneof(
  fc.constantFrom(null, "", "conda", "slim", "my flavor!", "UPPER_case", "ünïcödé", "--"),
  fc.string({ unit: "grapheme-ascii", maxLength: 20 }),
  fc.stringMatching(/^[a-z]{100,140}$/),
);
const pythonish = fc.oneof(
  fc.constantFrom(null, "", "3.9", "3.12", "3.13t", "pypy3.10", "3 . 12"),
  fc.string({ unit: "grapheme-ascii", maxLength: 6 }),
);
const imageArgs = fc.tuple(fc.option(pep440, { nil: null }), pythonish, flavorish);
const generatedImages = fc.sample(imageArgs, { numRuns: 600, seed: 128 });

/** The SHA Prefect's Python would use in a checkout at the commit the label names. */
function expectedSha(version: string | null): string {
  try {
    const local = parseVersion(version || DEV_VERSION).local ?? "";
    const segment = local.split(".").find((part) => /^g[0-9a-f]{7,}$/.test(part));
    return segment ? segment.slice(1, 8) : COMMIT_SHA;
  } catch {
    return COMMIT_SHA;
  }
}

// ---- the Python batch -------------------------------------------------------------------------

const py = new PythonBatch();
const normalisationRefs = normalisations.map(([input]) => py.add({ op: "version", s: input }));
const invalidRefs = invalidVersions.map((input) => py.add({ op: "version", s: input }));
const versionRefs = generatedVersions.map((input) => py.add({ op: "version", s: input }));
type ImageCase = [string | null, string | null, string | null];
const imageCases: ImageCase[] = [
  ...prefectImageNames.map(([v, p, f]): ImageCase => [v, p, f]),
  ...prefectDevVersionInfo.map(([v]): ImageCase => [v, null, null]),
  ["3.0.0-rc.1", "3.12", null],
  ["v3.0", "3.12", "conda"],
  ["1!2.0", "3.12", null],
  ["3.0.0+1.gABCDEF1234", "3.12", null],
  ["3.0.0+local", "3.12", null],
  ["", "", ""],
  ["3.0.0", "3.12", "x".repeat(200)],
  ["3.0.0", "3 . 12", "a b/c:d@e"],
  ["1.0prevİew2", "3.12", null],
  ["not a version", "3.12", null],
  ...generatedImages,
];
const imageRefs = imageCases.map(([v, p, f]) =>
  py.add({
    op: "image_name",
    args: [v, p, f],
    defaultVersion: DEV_VERSION,
    sha: expectedSha(v),
    pythonMinor: PYTHON_VERSION,
  }),
);

beforeAll(() => py.run());

/** Compares `parseVersion` with packaging's Version; errors must carry packaging's text. */
function compareVersion(input: string, python: PyResult): unknown {
  try {
    const ours = parseVersion(input);
    if (python.ok && JSON.stringify(ours) === JSON.stringify(python.value)) return null;
    return { input, ours, python };
  } catch (error) {
    const same =
      !python.ok &&
      python.type === "InvalidVersion" &&
      error instanceof InvalidArgumentError &&
      error.message.startsWith(python.message);
    return same ? null : { input, ours: String(error), python };
  }
}

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

  it("defaults to the targeted Prefect release and the python3 on PATH", () => {
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

  it("reads git rev-parse --short=7 HEAD of the current directory by default", () => {
    const git = spawnSync("git", ["rev-parse", "--short=7", "HEAD"], { encoding: "utf8" });
    const sha = git.status === 0 ? git.stdout.trim() : "";
    if (sha) {
      expect(getPrefectImageName("3.0.0+local", "3.12")).toBe(
        `prefecthq/prefect-dev:sha-${sha}-python3.12`,
      );
    } else {
      expect(() => getPrefectImageName("3.0.0+local", "3.12")).toThrow(
        /No commit SHA could be found/,
      );
    }
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

  it("keeps tags to Docker's characters and 128 characters", () => {
    fc.assert(
      fc.property(imageArgs, ([version, python, flavor]) => {
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
    expect(() => parseVersion(input)).toThrow(`Invalid version: '${input}'`);
  });
});

describe("python version", () => {
  it("reports the python3 on PATH, probed once", () => {
    const run = spawnSync(
      "python3",
      ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
      {
        encoding: "utf8",
      },
    );
    const micro = run.status === 0 ? run.stdout.trim() : `${DEFAULT_PYTHON_VERSION}.0`;
    expect(pythonVersionMicro()).toBe(micro);
    expect(pythonVersionMinor()).toBe(micro.split(".").slice(0, 2).join("."));
    expect(pythonVersionMinor()).toBe(pythonVersionMinor());
  });

  it("falls back to DEFAULT_PYTHON_VERSION when the interpreter is missing", () => {
    expect(probePythonVersion("no-such-python-for-prefect-dockerutils")).toEqual({
      minor: DEFAULT_PYTHON_VERSION,
      micro: `${DEFAULT_PYTHON_VERSION}.0`,
    });
    expect(DEFAULT_PYTHON_VERSION).toBe("3.12");
  });

  it("falls back when the interpreter prints no version", () => {
    expect(probePythonVersion("false")).toEqual({ minor: "3.12", micro: "3.12.0" });
  });
});

describe("parity with packaging and Prefect's get_prefect_image_name in /usr/bin/python3", () => {
  it("agrees with packaging.version.Version on the hand-picked versions", () => {
    const mismatches = [
      ...normalisations.map(([input], i) =>
        compareVersion(input, py.result(normalisationRefs[i] ?? -1)),
      ),
      ...invalidVersions.map((input, i) => compareVersion(input, py.result(invalidRefs[i] ?? -1))),
    ].filter(Boolean);
    expect(mismatches).toEqual([]);
  });

  it(`agrees with packaging.version.Version on ${generatedVersions.length} generated versions`, () => {
    const mismatches = generatedVersions
      .map((input, i) => compareVersion(input, py.result(versionRefs[i] ?? -1)))
      .filter(Boolean);
    expect(mismatches).toEqual([]);
    const invalid = versionRefs.filter((ref) => !py.result(ref).ok).length;
    expect(invalid).toBeGreaterThan(50);
    expect(invalid).toBeLessThan(generatedVersions.length - 50);
  });

  it(`agrees with get_prefect_image_name on ${imageCases.length} argument triples`, () => {
    const mismatches = imageCases.flatMap(([version, python, flavor], i) => {
      const answer = py.result(imageRefs[i] ?? -1);
      try {
        const ours = getPrefectImageName(version, python, flavor, checkout);
        return answer.ok && answer.value === ours
          ? []
          : [{ version, python, flavor, ours, answer }];
      } catch (error) {
        const same =
          !answer.ok &&
          answer.type === "InvalidVersion" &&
          error instanceof Error &&
          error.message.startsWith(answer.message);
        return same ? [] : [{ version, python, flavor, ours: String(error), answer }];
      }
    });
    expect(mismatches).toEqual([]);
  });
});
