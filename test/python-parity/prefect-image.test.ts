// Differential tests against /usr/bin/python3 (the "python" vitest project): packaging's
// Version and a copy of Prefect's get_prefect_image_name.
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  DEFAULT_PYTHON_VERSION,
  detectPythonVersion,
  getPrefectImageName,
  pythonVersionMicro,
  pythonVersionMinor,
} from "../../src/prefect/prefect-image.js";
import { parseVersion } from "../../src/python/parse-version.js";
import {
  checkout,
  DEV_VERSION,
  expectedSha,
  generatedImages,
  generatedVersions,
  invalidVersions,
  normalisations,
  PYTHON_VERSION,
  prefectDevVersionInfo,
  prefectImageNames,
} from "../support/prefect-image-cases.js";
import { type PyResult, PythonBatch } from "../support/python.js";

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

describe("detectPythonVersion", () => {
  it("reports the python3 on PATH, and pythonVersionMinor/Micro keep Prefect's default", async () => {
    const run = spawnSync(
      "python3",
      ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
      { encoding: "utf8" },
    );
    expect(run.status).toBe(0);
    const micro = run.stdout.trim();
    const minor = micro.split(".").slice(0, 2).join(".");
    expect(await detectPythonVersion()).toEqual({ minor, micro });
    expect(pythonVersionMinor()).toBe(DEFAULT_PYTHON_VERSION);
    expect(pythonVersionMicro()).toBe(`${DEFAULT_PYTHON_VERSION}.0`);
  });
});
