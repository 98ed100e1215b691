import path from "node:path";
import { BuildContextError } from "../errors.js";
import { type BuildContextFs, describe, isInside, isMissing } from "./context-fs.js";
import { readControlFile } from "./control-file.js";
import { PatternMatcher, parseDockerignore } from "./dockerignore.js";

/** A `.dockerignore` as read. */
export interface IgnoreFile {
  readonly text: string;
  /** Whether it is a symlink (its target's text is used, never sent). */
  readonly link: boolean;
  readonly mode: number;
  readonly mtime: number;
}

/**
 * Reads a `.dockerignore`. A symlink is followed only to a regular file inside `roots`, so no
 * pattern comes from elsewhere; a dangling link means no patterns, as for the Docker CLI.
 * @throws BuildContextError for a file that is there but cannot be read (never taken as "no
 *   patterns"), a link leading out of `roots`, or anything but a regular file of at most 16 MiB.
 */
export function readIgnoreFile(
  fs: BuildContextFs,
  file: string,
  roots: readonly string[],
): IgnoreFile | undefined {
  let stats: ReturnType<BuildContextFs["lstatSync"]>;
  try {
    stats = fs.lstatSync(file);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw new BuildContextError(`cannot read ${file}: ${describe(error)}`, file, { cause: error });
  }
  let target = file;
  const link = stats.isSymbolicLink();
  if (link) {
    try {
      target = fs.realpathSync(file);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new BuildContextError(`cannot resolve the symlink ${file}: ${describe(error)}`, file, {
        cause: error,
      });
    }
    if (!roots.some((root) => target === root || isInside(path.relative(root, target)))) {
      throw new BuildContextError(
        `${file} is a symlink to ${target}, outside the build context; patterns are read only from inside it: make ${path.basename(file)} a regular file`,
        file,
      );
    }
  }
  const content = readControlFile(fs, target, ".dockerignore");
  if (content === undefined) return undefined;
  return {
    text: content.toString("utf8"),
    link,
    mode: stats.mode & 0o7777,
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

/**
 * The patterns of `folder/.dockerignore` for a folder overlay, matched relative to `folder`;
 * `undefined` when it has none.
 * @throws BuildContextError when the file is there but cannot be read or has an invalid pattern.
 */
export function folderExcludes(fs: BuildContextFs, folder: string): PatternMatcher | undefined {
  const file = path.join(folder, ".dockerignore");
  let root: string;
  try {
    root = fs.realpathSync(folder);
  } catch (error) {
    throw new BuildContextError(`cannot resolve ${folder}: ${describe(error)}`, folder, {
      cause: error,
    });
  }
  const patterns = parseDockerignore(readIgnoreFile(fs, file, [root])?.text ?? "");
  return patterns.length === 0 ? undefined : ignoreMatcher(patterns, file);
}

/**
 * The matcher of the patterns read from `file`.
 * @throws BuildContextError naming `file` for an invalid pattern.
 */
export function ignoreMatcher(patterns: readonly string[], file: string): PatternMatcher {
  try {
    return new PatternMatcher(patterns);
  } catch (error) {
    throw new BuildContextError(`invalid ${file}: ${describe(error)}`, file, { cause: error });
  }
}
