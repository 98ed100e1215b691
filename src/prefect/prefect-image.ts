/**
 * The Prefect base image for a Prefect and Python version: `get_prefect_image_name` and friends.
 * @module
 */
import { PROBE_TIMEOUT_MS } from "../defaults.js";
import { InvalidArgumentError } from "../errors.js";
import { childProcess } from "../lazy-builtins.js";
import { parseVersion } from "../python/parse-version.js";
import { isSluggable, slugifyImageTag } from "../python/slugify.js";
import { show } from "../validate.js";

/** The Prefect release this package targets, standing in for Python's `prefect.__version__`. */
export const PREFECT_VERSION = "3.8.3";

/**
 * The Python `major.minor` assumed when none is given or detected: what
 * {@link pythonVersionMinor} reports, and {@link detectPythonVersion}'s fallback.
 */
export const DEFAULT_PYTHON_VERSION = "3.12";

/** A Python version as {@link detectPythonVersion} reports it. */
export interface PythonVersion {
  /** `major.minor`, e.g. `3.12`. */
  readonly minor: string;
  /** `major.minor.micro`, e.g. `3.12.4`. */
  readonly micro: string;
}

/** Options of {@link detectPythonVersion}. */
export interface DetectPythonVersionOptions {
  /** The interpreter to ask, looked up on `PATH`. @default "python3" */
  readonly python?: string;
  /** Cancels the probe: its process is killed and the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

const DEFAULT_INTERPRETER = "python3";
const FALLBACK: PythonVersion = Object.freeze({
  minor: DEFAULT_PYTHON_VERSION,
  micro: `${DEFAULT_PYTHON_VERSION}.0`,
});

/**
 * Asks a Python interpreter for its version in a child process (killed after 10 s or on abort).
 * Nothing is kept: pass the answer on yourself, e.g. as `getPrefectImageName`'s `pythonVersion`.
 *
 * @returns its version, or {@link DEFAULT_PYTHON_VERSION} (micro `.0`) when it is missing, fails,
 *   times out or prints something else.
 * @throws `signal.reason` when `signal` aborts.
 * @example
 * ```ts
 * const { minor } = await detectPythonVersion(); // { minor: "3.12", micro: "3.12.4" }
 * getPrefectImageName(undefined, minor);         // "prefecthq/prefect:3.8.3-python3.12"
 * ```
 */
export async function detectPythonVersion(
  options: DetectPythonVersionOptions = {},
): Promise<PythonVersion> {
  const { python = DEFAULT_INTERPRETER, signal } = options;
  signal?.throwIfAborted();
  const output = await run(
    python,
    ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
    signal,
  );
  const match = output === undefined ? null : /^(\d+)\.(\d+)\.\d+$/.exec(output);
  return match ? { minor: `${match[1]}.${match[2]}`, micro: output ?? "" } : FALLBACK;
}

/** A probe's trimmed output, or `undefined` when it cannot run, fails or times out. */
function run(
  file: string,
  args: readonly string[],
  signal: AbortSignal | undefined,
  cwd?: string,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    childProcess().execFile(
      file,
      args,
      {
        encoding: "utf8",
        timeout: PROBE_TIMEOUT_MS,
        maxBuffer: 64 * 1024,
        windowsHide: true,
        ...(cwd === undefined ? {} : { cwd }),
        ...(signal === undefined ? {} : { signal }),
      },
      (error, stdout) => {
        if (signal?.aborted) reject(signal.reason);
        else resolve(error ? undefined : stdout.trim());
      },
    );
  });
}

/**
 * Prefect's `python_version_minor`. A Node process has no interpreter of its own, so this runs
 * nothing and always reports {@link DEFAULT_PYTHON_VERSION}; for the `python3` on `PATH`, use
 * {@link detectPythonVersion}.
 *
 * @example
 * ```ts
 * pythonVersionMinor(); // "3.12"
 * ```
 */
export function pythonVersionMinor(): string {
  return FALLBACK.minor;
}

/**
 * Prefect's `python_version_micro`: like {@link pythonVersionMinor}, always
 * {@link DEFAULT_PYTHON_VERSION} with micro `0`.
 *
 * @example
 * ```ts
 * pythonVersionMicro(); // "3.12.0"
 * ```
 */
export function pythonVersionMicro(): string {
  return FALLBACK.micro;
}

/** Collaborators of {@link getPrefectImageName}, replaceable in tests. */
export interface PrefectImageNameOptions {
  /** The version used when `prefectVersion` is omitted or empty. @default PREFECT_VERSION */
  readonly defaultPrefectVersion?: string;
  /**
   * Returns the Python `major.minor` used when `pythonVersion` is omitted or empty.
   * @default pythonVersionMinor (runs nothing)
   */
  readonly detectPythonVersion?: () => string;
  /**
   * The short SHA of the checked-out commit, or `null`, for a local label that names no commit.
   * @default none: such a version throws; {@link resolvePrefectImageName} runs `git`
   */
  readonly gitShortSha?: () => string | null;
}

/** The commit in a local label such as `1.gabc1234` (setuptools-scm / versioneer style). */
function shaFromLocalLabel(local: string): string | null {
  const segment = local.split(".").find((part) => /^g[0-9a-f]{7,}$/.test(part));
  return segment ? segment.slice(1, 8) : null;
}

/**
 * Names the Prefect image for a Prefect and a Python version, like Prefect's
 * `get_prefect_image_name`, without running anything: a release gives
 * `prefecthq/prefect:<version>-python<x.y>[-<flavor>]`, a version with a local label
 * `prefecthq/prefect-dev:sha-<sha>-python<x.y>[-<flavor>]`. The SHA comes from the label's
 * `g<hex>` segment first, then `options.gitShortSha` (Python asks git first, but this package is
 * no Prefect checkout). {@link resolvePrefectImageName} also runs Prefect's probes.
 *
 * @param prefectVersion - a PEP 440 version; omitted or `""` means {@link PREFECT_VERSION}.
 * @param pythonVersion - `major.minor`; omitted or `""` means `options.detectPythonVersion()`.
 * @param flavor - an image flavor such as `conda`, appended after a `-` when not empty.
 * @throws InvalidArgumentError `Invalid version: '...'` for a version PEP 440 rejects; for a
 *   local label without a commit; for a `pythonVersion` or `flavor` Prefect would transliterate.
 * @example
 * ```ts
 * getPrefectImageName("3.0.0rc1", "3.11", "conda"); // "prefecthq/prefect:3.0.0rc1-python3.11-conda"
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
    detectPythonVersion: pythonMinor = pythonVersionMinor,
    gitShortSha,
  } = options;
  const version = prefectVersion || defaultPrefectVersion;
  const parsed = parseVersion(version);
  const isProdBuild = parsed.local === null;
  let versionTag = parsed.public;
  if (parsed.local !== null) {
    const sha = shaFromLocalLabel(parsed.local) ?? gitShortSha?.() ?? null;
    if (!sha) {
      throw new InvalidArgumentError(
        `No commit SHA could be found for Prefect version '${version}': its local label '${parsed.local}' has no g<sha> segment${gitShortSha ? " and options.gitShortSha gave none" : ""}; pass a version whose local label names the commit (e.g. "3.0.0+1.gabc1234"), a release version (e.g. "${PREFECT_VERSION}"), options.gitShortSha, or call resolvePrefectImageName(), which asks \`git rev-parse --short=7 HEAD\``,
      );
    }
    versionTag = `sha-${sha}`;
  }
  const python = pythonVersion || pythonMinor();
  for (const [name, value] of [
    ["pythonVersion", python],
    ["flavor", flavor],
  ] as const) {
    if (value && !isSluggable(value)) {
      throw new InvalidArgumentError(
        `${name} holds characters Prefect would transliterate, which is not supported here: use ASCII (accented letters lose their accents), without character references such as "&amp;"; got ${show(value)}`,
      );
    }
  }
  const tag = slugifyImageTag(`${versionTag}-python${python}${flavor ? `-${flavor}` : ""}`);
  return `prefecthq/${isProdBuild ? "prefect" : "prefect-dev"}:${tag}`;
}

/** Options of {@link resolvePrefectImageName}. */
export interface ResolvePrefectImageNameOptions {
  /** The version used when `prefectVersion` is omitted or empty. @default PREFECT_VERSION */
  readonly defaultPrefectVersion?: string;
  /** The interpreter asked when `pythonVersion` is omitted or empty. @default "python3" */
  readonly python?: string;
  /** Where `git rev-parse --short=7 HEAD` runs, when needed. @default process.cwd() */
  readonly cwd?: string;
  /** Cancels the probes: their processes are killed and the promise rejects with the reason. */
  readonly signal?: AbortSignal;
}

/**
 * {@link getPrefectImageName} with Prefect's probes, each run only when needed, asynchronously,
 * and killed after 10 s: {@link detectPythonVersion} without a `pythonVersion`, and
 * `git rev-parse --short=7 HEAD` for a local label that names no commit.
 *
 * @throws InvalidArgumentError as {@link getPrefectImageName}, also when `git` gives no SHA.
 * @example
 * ```ts
 * await resolvePrefectImageName(); // "prefecthq/prefect:3.8.3-python3.11", the python3 on PATH
 * ```
 */
export async function resolvePrefectImageName(
  prefectVersion?: string | null,
  pythonVersion?: string | null,
  flavor?: string | null,
  options: ResolvePrefectImageNameOptions = {},
): Promise<string> {
  const { defaultPrefectVersion = PREFECT_VERSION, python, cwd, signal } = options;
  signal?.throwIfAborted();
  const parsed = parseVersion(prefectVersion || defaultPrefectVersion);
  const sha =
    parsed.local !== null && shaFromLocalLabel(parsed.local) === null
      ? ((await run("git", ["rev-parse", "--short=7", "HEAD"], signal, cwd)) ?? null)
      : null;
  const minor =
    pythonVersion ||
    (
      await detectPythonVersion({
        ...(python === undefined ? {} : { python }),
        ...(signal === undefined ? {} : { signal }),
      })
    ).minor;
  return getPrefectImageName(prefectVersion, minor, flavor, {
    defaultPrefectVersion,
    gitShortSha: () => sha || null,
  });
}
