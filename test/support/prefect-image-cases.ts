import fc from "fast-check";
import {
  type PrefectImageNameOptions,
  pythonVersionMinor,
} from "../../src/prefect/prefect-image.js";
import { parseVersion } from "../../src/python/parse-version.js";

/**
 * Prefect's tests read COMMIT_SHA from git (they run in a Prefect checkout). This package is not
 * one, so the SHA is injected, or carried by the version's local label.
 */
export const COMMIT_SHA = "abc1234";
/** Stands in for `prefect.__version__` of a development install: it has a local label. */
export const DEV_VERSION = `3.1.0.dev4+12.g${COMMIT_SHA}`;
export const PYTHON_VERSION = pythonVersionMinor();
export const checkout: PrefectImageNameOptions = {
  defaultPrefectVersion: DEV_VERSION,
  gitShortSha: () => COMMIT_SHA,
};

// ---- Prefect's tables (tests/utilities/test_dockerutils.py) -----------------------------------

export const prefectImageNames: [string | null, string | null, string | null, string][] = [
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

export const prefectDevVersionInfo: [string, string][] = [
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

export const normalisations: [string, string, string | null, string][] = [
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

export const invalidVersions = ["x", "1.0 + a", "1.0-", "\ufeff1.0", "1.0\u200b", "1.0.devı", "K"];

export const versionUnit = fc.constantFrom(
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
export const pep440 = fc
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
export const versionish = fc.oneof(
  pep440,
  fc.array(versionUnit, { maxLength: 8 }).map((parts) => parts.join("")),
);

export const generatedVersions = fc.sample(versionish, { numRuns: 1000, seed: 440 });

// ---- image names ------------------------------------------------------------------------------

export const flavorish = fc.oneof(
  fc.constantFrom(null, "", "conda", "slim", "my flavor!", "UPPER_case", "it's 1,000", "--"),
  fc.string({ unit: "grapheme-ascii", maxLength: 20 }),
  fc.stringMatching(/^[a-z]{100,140}$/),
);
export const pythonish = fc.oneof(
  fc.constantFrom(null, "", "3.9", "3.12", "3.13t", "pypy3.10", "3 . 12"),
  fc.string({ unit: "grapheme-ascii", maxLength: 6 }),
);
export const imageArgs = fc.tuple(fc.option(pep440, { nil: null }), pythonish, flavorish);
export const generatedImages = fc.sample(imageArgs, { numRuns: 600, seed: 128 });

/** The SHA Prefect's Python would use in a checkout at the commit the label names. */
export function expectedSha(version: string | null): string {
  try {
    const local = parseVersion(version || DEV_VERSION).local ?? "";
    const segment = local.split(".").find((part) => /^g[0-9a-f]{7,}$/.test(part));
    return segment ? segment.slice(1, 8) : COMMIT_SHA;
  } catch {
    return COMMIT_SHA;
  }
}
