/**
 * The include patterns and follow paths the engine sends with a FileSync call, applied as the
 * docker CLI's fsutil (the version Docker 20.10 ships) applies them: a path is sent when some
 * pattern matches it, a folder is walked when some pattern could match below it, and a folder a
 * pattern matches whole is sent whole.
 * @module
 */
import { cleanPath } from "../context/dockerignore.js";

/**
 * Go's `filepath.Match` for one path segment (no `/` in `name`): `*`, `?`, `[...]` classes with
 * ranges and `^` negation, `\` escapes. A malformed pattern matches nothing, as in fsutil, which
 * ignores `filepath.Match`'s error. Iterative with one backtracking point, so its time is at most
 * the product of the lengths, never exponential.
 */
export function matchSegment(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let starP = -1;
  let starN = 0;
  while (n < name.length) {
    if (p < pattern.length) {
      const char = pattern[p];
      if (char === "*") {
        starP = p++;
        starN = n;
        continue;
      }
      if (char === "?") {
        p++;
        n++;
        continue;
      }
      if (char === "[") {
        const result = matchClass(pattern, p, name.charCodeAt(n));
        if (result === undefined) return false;
        if (result.matched) {
          p = result.end;
          n++;
          continue;
        }
      } else {
        let literal = char;
        let next = p + 1;
        if (char === "\\") {
          if (p + 1 >= pattern.length) return false;
          literal = pattern[p + 1];
          next = p + 2;
        }
        if (literal === name[n]) {
          p = next;
          n++;
          continue;
        }
      }
    }
    if (starP === -1) return false;
    p = starP + 1;
    n = ++starN;
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/** Matches one character against the class starting at `start` (`[`); `undefined` if malformed. */
function matchClass(
  pattern: string,
  start: number,
  code: number,
): { matched: boolean; end: number } | undefined {
  let index = start + 1;
  let negated = false;
  if (pattern[index] === "^") {
    negated = true;
    index++;
  }
  let matched = false;
  let first = true;
  for (;;) {
    if (index >= pattern.length) return undefined;
    if (pattern[index] === "]" && !first) {
      index++;
      break;
    }
    first = false;
    const low = classChar(pattern, index);
    if (low === undefined) return undefined;
    index = low.next;
    let high = low.code;
    if (pattern[index] === "-" && pattern[index + 1] !== "]") {
      const upper = classChar(pattern, index + 1);
      if (upper === undefined) return undefined;
      high = upper.code;
      index = upper.next;
    }
    if (low.code <= code && code <= high) matched = true;
  }
  return { matched: matched !== negated, end: index };
}

function classChar(pattern: string, index: number): { code: number; next: number } | undefined {
  const char = pattern[index];
  if (char === undefined || char === "-" || char === "]") return undefined;
  if (char === "\\") {
    const escaped = pattern.charCodeAt(index + 1);
    return Number.isNaN(escaped) ? undefined : { code: escaped, next: index + 2 };
  }
  return { code: pattern.charCodeAt(index), next: index + 1 };
}

/** Go's `filepath.Match` for whole paths: segment by segment, as `*` never matches `/`. */
export function matchPath(pattern: string, name: string): boolean {
  const patternParts = pattern.split("/");
  const nameParts = name.split("/");
  if (patternParts.length !== nameParts.length) return false;
  return patternParts.every((part, index) => matchSegment(part, nameParts[index] as string));
}

/**
 * fsutil's `matchPrefix`: a pattern deeper than `name` is cut to `name`'s depth and then matches
 * `partial`ly (the folder may hold a match).
 */
function matchPrefix(pattern: string, name: string): { matched: boolean; partial: boolean } {
  const depth = name.split("/").length;
  const parts = pattern.split("/");
  if (parts.length > depth) {
    return { matched: matchPath(parts.slice(0, depth).join("/"), name), partial: true };
  }
  return { matched: matchPath(pattern, name), partial: false };
}

/**
 * Which paths a FileSync call asks for. Feed it every path in walk order (folders before what
 * they hold); it answers whether to send the path (and, for a folder, to walk it).
 */
export class IncludeFilter {
  readonly #patterns: readonly string[];
  #wholeFolder: string | undefined;

  /** @param patterns - include patterns and resolved follow paths; empty means everything. */
  constructor(patterns: readonly string[]) {
    this.#patterns = dedupe(patterns.map(cleanPath));
  }

  /** Whether there is no restriction at all. */
  get all(): boolean {
    return this.#patterns.length === 0;
  }

  /** Whether to send `path` (relative, `/`-separated); for a folder, whether to walk it. */
  includes(path: string, isDirectory: boolean): boolean {
    if (this.all) return true;
    const whole = this.#wholeFolder;
    if (whole !== undefined && path.startsWith(`${whole}/`)) return true;
    let matched = false;
    let partial = true;
    for (const pattern of this.#patterns) {
      const result = matchPrefix(pattern, path);
      if (result.matched) {
        matched = true;
        if (!result.partial) {
          partial = false;
          break;
        }
      }
    }
    if (matched && !partial && isDirectory) this.#wholeFolder = path;
    return matched;
  }
}

/** fsutil's `dedupePaths` after sorting: `.` means everything; paths inside another one go. */
function dedupe(paths: readonly string[]): string[] {
  const sorted = [...paths].sort();
  const out: string[] = [];
  let last: string | undefined;
  for (const path of sorted) {
    if (path === ".") return [];
    if (last !== undefined && path.startsWith(`${last}/`)) continue;
    out.push(path);
    last = path;
  }
  return out;
}

/**
 * fsutil's `FollowLinks`: each follow path becomes an include pattern, and where a component of it
 * is a symlink inside the tree, its target (read relative to the tree's root, never outside it)
 * is followed too. `readlink` answers the link target of a path in the tree, or `undefined` when
 * the path is not a symlink or does not exist.
 */
export function resolveFollowPaths(
  paths: readonly string[],
  readlink: (path: string) => string | undefined,
): string[] {
  const resolved = new Set<string>();
  const follow = (path: string, depth: number): void => {
    const parts = cleanPath(path).split("/");
    if (depth > 40 || parts[0] === "..") return;
    for (let index = 1; index <= parts.length; index++) {
      const current = parts.slice(0, index).join("/");
      const rest = parts.slice(index).join("/");
      const target = current === "." ? undefined : readlink(current);
      if (target !== undefined) {
        if (resolved.has(current) && rest === "") return;
        resolved.add(current);
        // An absolute target is read from the tree's root, as fsutil does.
        const base = target.startsWith("/") ? "" : parts.slice(0, index - 1).join("/");
        const joined = cleanPath(`/${base}/${target}`).slice(1) || ".";
        follow(rest === "" ? joined : `${joined}/${rest}`, depth + 1);
        return;
      }
    }
    resolved.add(parts.join("/"));
  };
  for (const path of paths) follow(path, 0);
  return [...resolved];
}
