/**
 * PEP 440 versions normalised as Python's `packaging.version.Version` does.
 * @module
 */
import { createRequire } from "node:module";
import { InvalidArgumentError } from "../errors.js";

type Pep440 = typeof import("@renovatebot/pep440");
let pep440: Pep440 | undefined;

// Loaded at first use with `require`: only image names need it, and an ES import of a CommonJS
// package costs every user of the library start-up time and memory.
function explain(version: string): ReturnType<Pep440["explain"]> {
  pep440 ??= createRequire(import.meta.url)("@renovatebot/pep440") as Pep440;
  return pep440.explain(version);
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

/** Python's `\s` (`str.isspace()`): JavaScript's `\s` lacks U+001C–U+001F and adds U+FEFF. */
const PY_WHITESPACE = new Set(
  "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
);

/** `text` without Python whitespace at either end (a loop: `\s*$` would backtrack). */
function trimPythonWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PY_WHITESPACE.has(text[start] ?? "")) start++;
  while (end > start && PY_WHITESPACE.has(text[end - 1] ?? "")) end--;
  return text.slice(start, end);
}

/**
 * Python's `re.IGNORECASE` also equates `ı`/`İ` with `i`, `ſ` with `s` and the Kelvin sign with
 * `k`; JavaScript's `i` does not. Each is one UTF-16 unit, so offsets stay the same.
 */
const foldPythonIgnoreCase = (text: string): string =>
  text
    .replace(/[\u0130\u0131]/g, "i")
    .replace(/\u017f/g, "s")
    .replace(/\u212a/g, "k");

/** Python's `str(int(digits))`, exact at any length. */
const int = (digits: string): string => BigInt(digits).toString();

/** packaging's `_parse_local_version` joined with `.`: numbers as `int`, the rest lower-cased. */
const localLabel = (label: string): string =>
  label
    .split(/[._-]/)
    .map((part) => (/^[0-9]+$/.test(part) ? int(part) : part.toLowerCase()))
    .join(".");

/**
 * Parses and normalises a PEP 440 version exactly like `packaging.version.Version`, with
 * `@renovatebot/pep440`'s `explain()`. Three differences are adapted, each for a parity vector:
 * surrounding Python whitespace is trimmed; `ı`, `İ`, `ſ` and the Kelvin sign are folded for
 * `explain()` while the letters Python prints come from the original text; and the printed
 * numbers come from the version's own digits, as `explain()`'s `Number()` rounds beyond 2^53.
 *
 * @param version - e.g. `v3.0.0-RC.1+Build.7` (`3.0.0rc1`, local `build.7`, base `3.0.0`).
 * @throws InvalidArgumentError with packaging's text, `Invalid version: '...'`, for anything else.
 */
export function parseVersion(version: string): ParsedVersion {
  const text = trimPythonWhitespace(version);
  const explained = explain(foldPythonIgnoreCase(text));
  if (!explained) {
    throw new InvalidArgumentError(
      `Invalid version: '${version}' (expected a PEP 440 version such as "3.0.0" or "3.0.0.dev1+1.gabc1234")`,
    );
  }
  const plus = text.indexOf("+");
  const publicText = plus === -1 ? text : text.slice(0, plus);
  // Letters hold no digits, so the public part's digit runs are its numbers, in order: epoch,
  // release, then those of pre, post and dev that are written (an omitted one reads as 0).
  const digits = publicText.match(/[0-9]+/g) ?? [];
  let next = 0;
  const exact = (value: unknown): string => {
    const run = digits[next];
    if (run !== undefined && Number(run) === value) {
      next++;
      return int(run);
    }
    return String(value);
  };
  const epoch = publicText.includes("!") ? exact(explained.epoch) : "0";
  const baseVersion = `${epoch === "0" ? "" : `${epoch}!`}${explained.release.map(exact).join(".")}`;
  let publicVersion = baseVersion;
  const pre = explained.pre as [string, number] | null;
  if (pre) {
    // Only `preview` has a letter that folding changes; Python prints what it matched, lowered.
    const spelled = /prev[\u0130\u0131]ew/i.exec(publicText)?.[0].toLowerCase();
    publicVersion += `${spelled ?? pre[0]}${exact(pre[1])}`;
  }
  const post = explained.post as unknown as number | null;
  if (post !== null) publicVersion += `.post${exact(post)}`;
  const dev = explained.dev as unknown as number | null;
  if (dev !== null) publicVersion += `.dev${exact(dev)}`;
  const local = plus === -1 ? null : localLabel(text.slice(plus + 1));
  return { public: publicVersion, local, baseVersion };
}
