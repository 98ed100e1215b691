/**
 * The Prefect base image for the running Prefect and Python versions, ported from
 * `prefect.utilities.dockerutils.get_prefect_image_name` and friends.
 * @module
 */

import { PROBE_TIMEOUT_MS } from "../defaults.js";
import { InvalidArgumentError } from "../errors.js";
import { childProcess } from "../lazy-builtins.js";
import { parseVersion } from "../python/parse-version.js";
import { isSluggable, slugifyImageTag } from "../python/slugify.js";
import { show } from "../validate.js";

/**
 * The Prefect release this package targets, standing in for Python's `prefect.__version__`: the
 * default `prefectVersion` of {@link getPrefectImageName} and the `io.prefect.version` label.
 */
export const PREFECT_VERSION = "3.8.3";

/**
 * The Python minor version assumed when no version is given or detected: what
 * {@link pythonVersionMinor} reports, and {@link detectPythonVersion}'s answer without a usable
 * interpreter (Prefect reads `sys.version_info` of its own interpreter instead).
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
  /**
   * The interpreter to ask, looked up on `PATH`.
   * @default "python3"
   */
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
 * Asks a Python interpreter for its version, without blocking: runs `python3 -c` printing
 * `sys.version_info[:3]` as a child process (killed after 10 s or on abort). This and
 * {@link resolvePrefectImageName} are the only functions of this module that run a process.
 *
 * Nothing is kept: each call asks again, and {@link pythonVersionMinor} /
 * {@link pythonVersionMicro} never report the answer. Pass it on yourself where it matters, e.g.
 * as `getPrefectImageName`'s `pythonVersion` (or call {@link resolvePrefectImageName}, which
 * does).
 *
 * @returns its version, or {@link DEFAULT_PYTHON_VERSION} (micro `.0`) when it is missing, fails,
 *   takes more than 10 s or prints something else.
 * @throws `signal.reason` when `signal` aborts.
 * @example
 * ```ts
 * await detectPythonVersion();                        // { minor: "3.12", micro: "3.12.4" }
 * await detectPythonVersion({ python: "python3.11" }); // { minor: "3.11", micro: "3.11.7" }
 * const { minor } = await detectPythonVersion();
 * getPrefectImageName(undefined, minor);              // "prefecthq/prefect:3.8.3-python3.12"
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

/**
 * Runs a probe (`python3`, `git`) as a child process and resolves to its trimmed output, or
 * `undefined` when it cannot run, fails or times out; rejects with `signal.reason` on abort.
 */
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
 * The `major.minor` version of Python, as Prefect's `python_version_minor` gives its own
 * interpreter's. A Node process has no interpreter of its own, so this runs nothing and always
 * reports {@link DEFAULT_PYTHON_VERSION}, whatever ran before: the default Python of
 * {@link getPrefectImageName}. For the `python3` on `PATH`, use {@link detectPythonVersion}'s
 * answer.
 *
 * @example
 * ```ts
 * pythonVersionMinor();                   // "3.12"
 * (await detectPythonVersion()).minor;    // "3.11", the python3 on PATH
 * ```
 */
export function pythonVersionMinor(): string {
  return FALLBACK.minor;
}

/**
 * The `major.minor.micro` version of Python (Prefect's `python_version_micro`). Runs nothing and
 * always reports `"3.12.0"` ({@link DEFAULT_PYTHON_VERSION} with micro `0`), like
 * {@link pythonVersionMinor}; {@link detectPythonVersion}'s `micro` is the `python3` on `PATH`.
 *
 * @example
 * ```ts
 * pythonVersionMicro();                   // "3.12.0"
 * (await detectPythonVersion()).micro;    // "3.11.7"
 * ```
 */
export function pythonVersionMicro(): string {
  return FALLBACK.micro;
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
   * @default pythonVersionMinor (runs nothing)
   */
  readonly detectPythonVersion?: () => string;
  /**
   * Returns the short SHA of the checked-out commit, or `null` when there is none; consulted for
   * a version with a local label that names no commit.
   * @default none: such a version throws, since this function runs no `git`; use
   *   {@link resolvePrefectImageName}, which does
   */
  readonly gitShortSha?: () => string | null;
}

/** The commit in a local label such as `1.gabc1234` (setuptools-scm / versioneer style). */
function shaFromLocalLabel(local: string): string | null {
  const segment = local.split(".").find((part) => /^g[0-9a-f]{7,}$/.test(part));
  return segment ? segment.slice(1, 8) : null;
}

/**
 * Names the Prefect image matching a Prefect and a Python version, like Prefect's
 * `get_prefect_image_name`. Pure: it runs no process and reads no file, so it never blocks.
 *
 * A release (no local label) gives `prefecthq/prefect:<public version>-python<x.y>[-<flavor>]`,
 * with the version normalised (`3.0.0-rc.1` gives `3.0.0rc1`). A version with a local label gives
 * `prefecthq/prefect-dev:sha-<sha>-python<x.y>[-<flavor>]`, the SHA taken from the label's
 * `g<hex>` segment (first 7 hex digits) or else from `options.gitShortSha`. The tag is
 * slugified as Prefect does it: case kept, only `[a-zA-Z0-9_.-]`, at most 128 characters.
 *
 * Where Python runs `git rev-parse --short=7 HEAD` and reads its own interpreter's version, this
 * function runs nothing: the Python version defaults to {@link pythonVersionMinor}
 * ({@link DEFAULT_PYTHON_VERSION}; pass {@link detectPythonVersion}'s `minor` for the local
 * interpreter's), and a local label
 * without a commit needs `options.gitShortSha`. {@link resolvePrefectImageName} does both
 * probes, asynchronously. Unlike Python, which asks git first and otherwise falls back to the
 * commit Prefect was built from, the label comes first here (this package is no Prefect
 * checkout).
 *
 * @param prefectVersion - a PEP 440 version; omitted or `""` means {@link PREFECT_VERSION}.
 * @param pythonVersion - `major.minor`; omitted or `""` means `options.detectPythonVersion()`,
 *   by default {@link pythonVersionMinor} (`3.12`).
 * @param flavor - an image flavor such as `conda`, appended after a `-` when not empty.
 * @param options - collaborators, see {@link PrefectImageNameOptions}.
 * @returns the image name with its tag.
 * @throws InvalidArgumentError `Invalid version: '...'` for a version PEP 440 rejects, or when a
 *   development version names no commit and `options.gitShortSha` gives none; for a
 *   `pythonVersion` or `flavor` with characters Prefect would transliterate (beyond dropping
 *   accents) or an HTML character reference (`&amp;`).
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
  /**
   * The Prefect version used when `prefectVersion` is omitted or empty.
   * @default PREFECT_VERSION
   */
  readonly defaultPrefectVersion?: string;
  /**
   * The interpreter asked for the Python version when `pythonVersion` is omitted or empty.
   * @default "python3"
   */
  readonly python?: string;
  /**
   * Where `git rev-parse --short=7 HEAD` runs, for a version with a local label that names no
   * commit.
   * @default process.cwd()
   */
  readonly cwd?: string;
  /** Cancels the probes: their processes are killed and the promise rejects with the reason. */
  readonly signal?: AbortSignal;
}

/**
 * {@link getPrefectImageName} with Prefect's probes, run asynchronously as child processes (never
 * blocking the event loop): the Python version from {@link detectPythonVersion} when
 * `pythonVersion` is omitted or empty, and the commit from `git rev-parse --short=7 HEAD` (in
 * `options.cwd`) when the version's local label names none. Each probe runs only when needed and
 * is killed after 10 s; a probe that fails falls back (Python) or leaves the SHA unknown (an
 * `InvalidArgumentError`, as from {@link getPrefectImageName}).
 *
 * @example
 * ```ts
 * await resolvePrefectImageName();              // "prefecthq/prefect:3.8.3-python3.11", the python3 on PATH
 * await resolvePrefectImageName("3.0.0+local"); // "prefecthq/prefect-dev:sha-1a2b3c4-python3.11"
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
