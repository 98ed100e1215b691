/**
 * The Prefect base image for the running Prefect and Python versions, ported from
 * `prefect.utilities.dockerutils.get_prefect_image_name` and friends.
 * @module
 */

import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { InvalidArgumentError } from "../errors.js";
import { slugify } from "../python/slugify.js";

/**
 * The Prefect release this package targets, standing in for Python's `prefect.__version__`: the
 * default `prefectVersion` of {@link getPrefectImageName} and the `io.prefect.version` label.
 */
export const PREFECT_VERSION = "3.8.3";

/**
 * The Python minor version assumed when no `python3` can be run (Prefect reads
 * `sys.version_info` of its own interpreter instead).
 */
export const DEFAULT_PYTHON_VERSION = "3.12";

/** A Python version as {@link probePythonVersion} reports it. */
export interface PythonVersion {
  /** `major.minor`, e.g. `3.12`. */
  readonly minor: string;
  /** `major.minor.micro`, e.g. `3.12.4`. */
  readonly micro: string;
}

/**
 * Asks an interpreter for its version, with no caching: `python -c` printing
 * `sys.version_info[:3]`.
 *
 * @param python - the interpreter to run, looked up on `PATH`.
 * @returns its version, or {@link DEFAULT_PYTHON_VERSION} (micro `.0`) when it is missing, fails,
 *   takes more than 10 s or prints something else.
 * @example
 * ```ts
 * probePythonVersion("python3.11"); // { minor: "3.11", micro: "3.11.7" }
 * ```
 */
export function probePythonVersion(python = "python3"): PythonVersion {
  try {
    const output = execFileSync(
      python,
      ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 },
    ).trim();
    const match = /^(\d+)\.(\d+)\.\d+$/.exec(output);
    if (match) return { minor: `${match[1]}.${match[2]}`, micro: output };
  } catch {
    // No usable interpreter: fall through to the documented default.
  }
  return { minor: DEFAULT_PYTHON_VERSION, micro: `${DEFAULT_PYTHON_VERSION}.0` };
}

let pythonOnPath: PythonVersion | undefined;

/**
 * The `major.minor` version of the `python3` on `PATH` (Prefect's `python_version_minor`, which
 * reads its own interpreter). Runs `python3` once per process and remembers the answer; falls
 * back to {@link DEFAULT_PYTHON_VERSION} when `python3` is missing or fails.
 *
 * @example
 * ```ts
 * pythonVersionMinor(); // "3.12"
 * ```
 */
export function pythonVersionMinor(): string {
  pythonOnPath ??= probePythonVersion();
  return pythonOnPath.minor;
}

/**
 * The `major.minor.micro` version of the `python3` on `PATH` (Prefect's `python_version_micro`),
 * probed once like {@link pythonVersionMinor}; `"3.12.0"` when `python3` is missing or fails.
 *
 * @example
 * ```ts
 * pythonVersionMicro(); // "3.12.4"
 * ```
 */
export function pythonVersionMicro(): string {
  pythonOnPath ??= probePythonVersion();
  return pythonOnPath.micro;
}

/** The parts of a PEP 440 version that Prefect reads, normalised as `packaging` does. */
export interface ParsedVersion {
  /** `Version.public`: the normalised version without its local label, e.g. `3.0.0rc1`. */
  readonly public: string;
  /** `Version.local`: the normalised local label (`1.gabc1234`), or `null` when there is none. */
  readonly local: string | null;
  /** `Version.base_version`: epoch and release only, e.g. `1!2.0`. */
  readonly baseVersion: string;
}

// packaging's `^\s*VERSION_PATTERN\s*$`, where `\s` is Python's Unicode whitespace.
const PY_WHITESPACE =
  "[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
// Loaded with require: an ES import of this CommonJS file starts Node's CommonJS export lexer,
// which alone costs about 5 MiB at start-up.
const { VERSION_PATTERN } = createRequire(import.meta.url)(
  "@renovatebot/pep440/lib/version.js",
) as typeof import("@renovatebot/pep440/lib/version.js");
const VERSION_REGEX = new RegExp(`^${PY_WHITESPACE}*${VERSION_PATTERN}${PY_WHITESPACE}*$`, "id");

/**
 * Python's `re.IGNORECASE` also equates these with ASCII letters (`ı`/`İ` with `i`, `ſ` with `s`,
 * the Kelvin sign with `k`); JavaScript's `i` flag does not, so they are folded before matching.
 * Each is one UTF-16 unit, so offsets into the folded text are offsets into the original.
 */
const foldPythonIgnoreCase = (text: string): string =>
  text
    .replace(/[\u0130\u0131]/g, "i")
    .replace(/\u017f/g, "s")
    .replace(/\u212a/g, "k");

/** Python's `str(int(digits))`, exact for any length. */
const int = (digits: string): string => BigInt(digits).toString();

const PRE_RELEASE_SPELLINGS: Readonly<Record<string, string>> = {
  alpha: "a",
  beta: "b",
  c: "rc",
  pre: "rc",
  preview: "rc",
};

/**
 * Parses and normalises a PEP 440 version exactly like `packaging.version.Version` (grammar from
 * `@renovatebot/pep440`; its own `explain()` is not used because it rejects the surrounding
 * whitespace packaging allows and rounds numbers beyond 2^53).
 *
 * @param version - e.g. `v3.0.0-RC.1+Build.7`.
 * @returns `public`, `local` and `baseVersion`, e.g. `3.0.0rc1`, `build.7`, `3.0.0`.
 * @throws InvalidArgumentError with packaging's text, `Invalid version: '...'`, for anything else.
 * @example
 * ```ts
 * parseVersion("3.0.0.DEV0+1.gABC1234"); // { public: "3.0.0.dev0", local: "1.gabc1234", baseVersion: "3.0.0" }
 * ```
 */
export function parseVersion(version: string): ParsedVersion {
  const match = VERSION_REGEX.exec(foldPythonIgnoreCase(version));
  const groups = match?.groups;
  if (!match || !groups || groups.release === undefined) {
    throw new InvalidArgumentError(
      `Invalid version: '${version}' (expected a PEP 440 version such as "${PREFECT_VERSION}" or "3.0.0.dev1+1.gabc1234")`,
    );
  }
  // The letters and the local label are read from the original text: Python lower-cases what it
  // matched, and `"ſ".lower()` is still "ſ".
  const original = (name: string): string | undefined => {
    const span = match.indices?.groups?.[name];
    return span ? version.slice(span[0], span[1]) : undefined;
  };
  const epoch = groups.epoch ? int(groups.epoch) : "0";
  const baseVersion = `${epoch === "0" ? "" : `${epoch}!`}${groups.release.split(".").map(int).join(".")}`;
  let publicVersion = baseVersion;
  const preLetter = original("pre_l")?.toLowerCase();
  if (preLetter !== undefined) {
    publicVersion += `${PRE_RELEASE_SPELLINGS[preLetter] ?? preLetter}${int(groups.pre_n ?? "0")}`;
  }
  if (groups.post_l !== undefined || groups.post_n1 !== undefined) {
    publicVersion += `.post${int(groups.post_n1 ?? groups.post_n2 ?? "0")}`;
  }
  if (groups.dev_l !== undefined) publicVersion += `.dev${int(groups.dev_n ?? "0")}`;
  const local =
    original("local")
      ?.split(/[._-]/)
      .map((part) => (/^[0-9]+$/.test(part) ? int(part) : part.toLowerCase()))
      .join(".") ?? null;
  return { public: publicVersion, local, baseVersion };
}

/** Collaborators of {@link getPrefectImageName}, replaceable in tests. */
export interface PrefectImageNameOptions {
  /**
   * The Prefect version used when `prefectVersion` is omitted or empty (Python's
   * `prefect.__version__`).
   * @default PREFECT_VERSION
   */
  readonly defaultPrefectVersion?: string;
  /**
   * Returns the Python `major.minor` used when `pythonVersion` is omitted or empty.
   * @default pythonVersionMinor
   */
  readonly detectPythonVersion?: () => string;
  /**
   * Returns the short SHA of the checked-out commit, or `null` when there is none; consulted for
   * a version with a local label that names no commit.
   * @default runs `git rev-parse --short=7 HEAD` in the current directory
   */
  readonly gitShortSha?: () => string | null;
}

/** `git rev-parse --short=7 HEAD` in the current directory, or `null` when git cannot say. */
function readGitShortSha(): string | null {
  try {
    const sha = execFileSync("git", ["rev-parse", "--short=7", "HEAD"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    }).trim();
    return sha || null;
  } catch {
    return null;
  }
}

/** The commit in a local label such as `1.gabc1234` (setuptools-scm / versioneer style). */
function shaFromLocalLabel(local: string): string | null {
  const segment = local.split(".").find((part) => /^g[0-9a-f]{7,}$/.test(part));
  return segment ? segment.slice(1, 8) : null;
}

/**
 * Names the Prefect image matching a Prefect and a Python version, like Prefect's
 * `get_prefect_image_name`.
 *
 * A release (no local label) gives `prefecthq/prefect:<public version>-python<x.y>[-<flavor>]`,
 * with the version normalised (`3.0.0-rc.1` gives `3.0.0rc1`). A version with a local label gives
 * `prefecthq/prefect-dev:sha-<sha>-python<x.y>[-<flavor>]`, the SHA taken from the label's
 * `g<hex>` segment (first 7 hex digits) or else from `git rev-parse --short=7 HEAD`. The tag is
 * slugified as Prefect does it: case kept, only `[a-zA-Z0-9_.-]`, at most 128 characters.
 *
 * Unlike Python, which asks git first and otherwise falls back to the commit Prefect was built
 * from, the label comes first here (this package is no Prefect checkout) and a label without a
 * commit in a directory without git is an error.
 *
 * @param prefectVersion - a PEP 440 version; omitted or `""` means {@link PREFECT_VERSION}.
 * @param pythonVersion - `major.minor`; omitted or `""` means {@link pythonVersionMinor}.
 * @param flavor - an image flavor such as `conda`, appended after a `-` when not empty.
 * @param options - collaborators, see {@link PrefectImageNameOptions}.
 * @returns the image name with its tag.
 * @throws InvalidArgumentError `Invalid version: '...'` for a version PEP 440 rejects, or when a
 *   development version names no commit and git cannot tell it.
 * @example
 * ```ts
 * getPrefectImageName("3.0.0", "3.12");               // "prefecthq/prefect:3.0.0-python3.12"
 * getPrefectImageName("3.0.0+1.gabc1234", "3.12");    // "prefecthq/prefect-dev:sha-abc1234-python3.12"
 * getPrefectImageName("3.0.0rc1", "3.11", "conda");   // "prefecthq/prefect:3.0.0rc1-python3.11-conda"
 * ```
 */
export function getPrefectImageName(
  prefectVersion?: string | null,
  pythonVersion?: string | null,
  flavor?: string | null,
  options: PrefectImageNameOptions = {},
): string {
  const {
    defaultPrefectVersion = PREFECT_VERSION,
    detectPythonVersion = pythonVersionMinor,
    gitShortSha = readGitShortSha,
  } = options;
  const version = prefectVersion || defaultPrefectVersion;
  const parsed = parseVersion(version);
  const isProdBuild = parsed.local === null;
  let versionTag = parsed.public;
  if (parsed.local !== null) {
    const sha = shaFromLocalLabel(parsed.local) ?? gitShortSha();
    if (!sha) {
      throw new InvalidArgumentError(
        `No commit SHA could be found for Prefect version '${version}': its local label '${parsed.local}' has no g<sha> segment and \`git rev-parse --short=7 HEAD\` failed in ${process.cwd()}; pass a version whose local label names the commit (e.g. "3.0.0+1.gabc1234"), a release version (e.g. "${PREFECT_VERSION}"), or options.gitShortSha`,
      );
    }
    versionTag = `sha-${sha}`;
  }
  const python = pythonVersion || detectPythonVersion();
  const tag = slugify(`${versionTag}-python${python}${flavor ? `-${flavor}` : ""}`, {
    lowercase: false,
    maxLength: 128,
    // Docker allows these characters in tags.
    regexPattern: /[^a-zA-Z0-9_.-]+/,
  });
  return `prefecthq/${isProdBuild ? "prefect" : "prefect-dev"}:${tag}`;
}
