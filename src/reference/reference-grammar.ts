/**
 * The image-reference grammar of github.com/distribution/reference (the docker CLI's and the
 * engine's), as predicates on single parts:
 *
 * ```text
 * reference        := name [ ":" tag ] [ "@" digest ]
 * name             := [ domain "/" ] path-component [ "/" path-component ]*
 * domain           := host [ ":" port ]
 * host             := domain-name | "[" IPv6 hex and colons "]"
 * domain-name      := domain-component [ "." domain-component ]*
 * domain-component := [A-Za-z0-9] | [A-Za-z0-9] [A-Za-z0-9-]* [A-Za-z0-9]
 * port             := [0-9]+
 * path-component   := [a-z0-9]+ [ separator [a-z0-9]+ ]*
 * separator        := "." | "_" | "__" | "-"+
 * tag              := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 * digest           := algorithm ":" [0-9a-fA-F]{32,}
 * algorithm        := [A-Za-z][A-Za-z0-9]* [ [-_+.] [A-Za-z][A-Za-z0-9]* ]*
 * ```
 *
 * Character scanners, not regular expressions: the upstream RE2 patterns are ambiguous in a
 * backtracking engine (a first component may be domain or path, `-` runs split many ways), so a
 * hostile reference could make them crawl. Each scanner looks at every character once.
 * @module
 */

/** The most characters a repository path may have (`RepositoryNameTotalLengthMax`). */
export const MAX_PATH_LENGTH = 255;

/** The most characters a tag may have. */
export const MAX_TAG_LENGTH = 128;

/** Algorithms of the OCI image specification, with the length of their hex encoding. */
export const DIGEST_ALGORITHMS: ReadonlyMap<string, number> = new Map([
  ["sha256", 64],
  ["sha512", 128],
]);

function isLowerAlnum(char: string | undefined): boolean {
  return char !== undefined && ((char >= "a" && char <= "z") || (char >= "0" && char <= "9"));
}

function isAlnum(char: string | undefined): boolean {
  return isLowerAlnum(char) || (char !== undefined && char >= "A" && char <= "Z");
}

function isWordChar(char: string | undefined): boolean {
  return isAlnum(char) || char === "_";
}

function isHexDigit(char: string | undefined): boolean {
  return (
    char !== undefined &&
    ((char >= "0" && char <= "9") || (char >= "a" && char <= "f") || (char >= "A" && char <= "F"))
  );
}

function isDigit(char: string | undefined): boolean {
  return char !== undefined && char >= "0" && char <= "9";
}

/** Whether `text` is a path component: lower-case alphanumerics joined by `.`, `_`, `__`, `-`+. */
export function isPathComponent(text: string): boolean {
  if (!isLowerAlnum(text[0]) || !isLowerAlnum(text[text.length - 1])) return false;
  let runStart = -1;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (isLowerAlnum(char)) {
      if (runStart !== -1 && !isSeparator(text, runStart, i)) return false;
      runStart = -1;
    } else if (char === "." || char === "_" || char === "-") {
      if (runStart === -1) runStart = i;
    } else {
      return false;
    }
  }
  return true;
}

/** Whether `text[start..end)` is `.`, `_`, `__` or a run of `-`. */
function isSeparator(text: string, start: number, end: number): boolean {
  const first = text[start];
  if (first === ".") return end - start === 1;
  if (first === "_") return end - start === 1 || (end - start === 2 && text[start + 1] === "_");
  for (let i = start; i < end; i++) if (text[i] !== "-") return false;
  return true;
}

/** Whether `text` is one domain component: letters, digits and inner hyphens. */
function isDomainComponent(text: string): boolean {
  if (!isAlnum(text[0]) || !isAlnum(text[text.length - 1])) return false;
  for (const char of text) if (!isAlnum(char) && char !== "-") return false;
  return true;
}

/** Whether `text` is a registry host and optional port: `ghcr.io`, `[::1]:5000`. */
export function isDomainAndPort(text: string): boolean {
  let host = text;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 2) return false;
    for (const char of text.slice(1, close)) if (!isHexDigit(char) && char !== ":") return false;
    const rest = text.slice(close + 1);
    return rest === "" || isPort(rest);
  }
  const colon = text.indexOf(":");
  if (colon !== -1) {
    if (!isPort(text.slice(colon))) return false;
    host = text.slice(0, colon);
  }
  return host.split(".").every(isDomainComponent);
}

/** `:` and at least one digit. */
function isPort(text: string): boolean {
  if (text.length < 2 || text[0] !== ":") return false;
  for (const char of text.slice(1)) if (!isDigit(char)) return false;
  return true;
}

/** Whether `text` is a tag: a word character, then up to 127 word characters, `.` or `-`. */
export function isTag(text: string): boolean {
  if (text.length === 0 || text.length > MAX_TAG_LENGTH) return false;
  if (!isWordChar(text[0])) return false;
  for (const char of text) if (!isWordChar(char) && char !== "." && char !== "-") return false;
  return true;
}

/** How a digest fails the grammar, or `undefined` when it is a supported, well-formed digest. */
export type DigestProblem = "format" | "algorithm" | "length";

/**
 * Checks a digest as the reference parser does: grammar first (`"format"`, distribution's
 * `DigestRegexp`), then the algorithm and its encoded length.
 */
export function digestProblem(text: string): DigestProblem | undefined {
  const colon = text.indexOf(":");
  if (colon === -1) return "format";
  const algorithm = text.slice(0, colon);
  const encoded = text.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm) || encoded.length < 32) return "format";
  for (const char of encoded) if (!isHexDigit(char)) return "format";
  const length = DIGEST_ALGORITHMS.get(algorithm);
  if (length === undefined) return "algorithm";
  if (encoded.length !== length || encoded !== encoded.toLowerCase()) return "length";
  return undefined;
}

function isDigestAlgorithm(text: string): boolean {
  let atStart = true;
  for (const char of text) {
    if (atStart) {
      if (!((char >= "a" && char <= "z") || (char >= "A" && char <= "Z"))) return false;
      atStart = false;
    } else if (char === "-" || char === "_" || char === "+" || char === ".") {
      atStart = true;
    } else if (!isAlnum(char)) {
      return false;
    }
  }
  return text.length > 0 && !atStart;
}

/** Whether `text` is 64 lower-case hex digits: an image ID without `sha256:`. */
export function isIdentifier(text: string): boolean {
  if (text.length !== 64) return false;
  for (const char of text) if (!isDigit(char) && !(char >= "a" && char <= "f")) return false;
  return true;
}
