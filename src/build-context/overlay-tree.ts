import path from "node:path";
import { BuildContextError, InvalidArgumentError } from "../errors.js";
import { type BuildContextFs, describe, isInside, isMissing } from "./context-fs.js";
import type { PatternMatcher } from "./dockerignore.js";
import { folderExcludes } from "./ignore-file.js";

/** A file or folder from outside the context directory that appears in the context at `contextPath`. */
export interface BuildContextOverlay {
  /** Where the entry appears in the context (POSIX, relative, no `..`). */
  readonly contextPath: string;
  /** The host file, folder or symlink sent there; symlinks are sent as links, never followed. */
  readonly hostPath: string;
  /**
   * A folder `hostPath` must stay inside (ImageBuilder's `baseDirectory`): refused outside it or
   * when reached through a symlink below it, which could lead anywhere.
   * @default undefined (no check)
   */
  readonly within?: string;
  /**
   * For a folder: leave out what its own `.dockerignore` excludes, matched relative to the
   * folder as `docker build` on it would; an overlay nested inside that it excludes is refused.
   * An unreadable file, a symlink out of the folder or an invalid pattern fails the build.
   * @default false
   */
  readonly applyDockerignore?: boolean;
}

/** A file made in memory that appears in the context at `path`. */
export interface ContextFile {
  /** Where the file appears in the context (POSIX, relative, no `..`). */
  readonly path: string;
  readonly content: Buffer;
  /** Permission bits. @default 0o644 */
  readonly mode?: number;
  /** Modification time, seconds since the epoch. @default now */
  readonly mtime?: number;
  /** Where the bytes came from, reported as the entry's `source` (e.g. an outside Dockerfile). */
  readonly origin?: string;
}

/** One node of the overlay tree: what is laid at its path, if anything. */
export interface OverlayNode {
  hostPath: string | undefined;
  file: ContextFile | undefined;
  /** The folder's `.dockerignore` patterns, with `applyDockerignore`. */
  excludes: PatternMatcher | undefined;
  readonly children: Map<string, OverlayNode>;
}

function emptyNode(): OverlayNode {
  return { hostPath: undefined, file: undefined, excludes: undefined, children: new Map() };
}

/** `value` as a clean relative path in the context; `undefined` if absolute, empty or with `..`. */
export function contextRelative(value: string): string | undefined {
  const segments = value.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (value.startsWith("/") || segments.length === 0 || segments.includes("..")) return undefined;
  return segments.join("/");
}

/** Refuses `hostPath` outside `within` (which it may be itself) or reached through a symlink below it. */
function checkWithin(fs: BuildContextFs, hostPath: string, within: string): void {
  const base = path.resolve(within);
  const relative = path.relative(base, hostPath);
  if (relative === "") return;
  if (!isInside(relative)) {
    throw new InvalidArgumentError(
      `cannot add ${hostPath} to the build context: it is not inside ${base}; give a path inside it`,
    );
  }
  const parts = relative.split(path.sep);
  let current = base;
  for (const part of parts.slice(0, -1)) {
    current = path.join(current, part);
    if (fs.lstatSync(current).isSymbolicLink()) {
      throw new BuildContextError(
        `cannot add ${hostPath} to the build context: it is reached through the symlink ${current}, which may lead outside ${base}; add the link itself, or the real path of what it points to inside ${base}`,
        hostPath,
      );
    }
  }
}

/** Checks overlays' shapes and paths before any I/O. */
export function validateOverlays(overlays: unknown): void {
  if (!Array.isArray(overlays)) {
    throw new InvalidArgumentError(
      "overlays must be an array of { contextPath, hostPath } objects, the files to add to the build context",
    );
  }
  for (const overlay of overlays as unknown[]) {
    const { contextPath, hostPath, within, applyDockerignore } = (overlay ?? {}) as Record<
      string,
      unknown
    >;
    if (
      typeof contextPath !== "string" ||
      typeof hostPath !== "string" ||
      (within !== undefined && typeof within !== "string") ||
      (applyDockerignore !== undefined && typeof applyDockerignore !== "boolean")
    ) {
      throw new InvalidArgumentError(
        `cannot add ${JSON.stringify(overlay)} to the build context: give { contextPath, hostPath }, both strings (and within, a string, and applyDockerignore, a boolean, if any)`,
      );
    }
    if (hostPath === "") {
      throw new InvalidArgumentError(
        `cannot add an empty host path to the build context at ${JSON.stringify(contextPath)}: give the file or folder to add`,
      );
    }
    if (contextRelative(contextPath) === undefined) {
      throw new InvalidArgumentError(
        `cannot add ${hostPath} to the build context at ${JSON.stringify(contextPath)}: the place in the context must be a relative path without ".." (for example "app/main.py")`,
      );
    }
  }
}

function nodeAt(root: OverlayNode, relative: string): OverlayNode {
  let node = root;
  for (const segment of relative.split("/")) {
    let next = node.children.get(segment);
    if (next === undefined) {
      next = emptyNode();
      node.children.set(segment, next);
    }
    node = next;
  }
  return node;
}

/**
 * Builds the tree of overlays and in-memory files, later ones replacing earlier ones at the same
 * path (deeper ones included). Every host path is `lstat`ed now, so a missing one fails before
 * anything is sent.
 * @throws InvalidArgumentError for a bad path, BuildContextError for a host path that cannot be read.
 */
export function overlayTree(
  fs: BuildContextFs,
  overlays: readonly BuildContextOverlay[],
  files: readonly ContextFile[] = [],
): OverlayNode {
  validateOverlays(overlays);
  const root = emptyNode();
  for (const overlay of overlays) {
    const node = nodeAt(root, contextRelative(overlay.contextPath) as string);
    // Resolved but not realpath'ed: the last component is sent as what it is, a link included.
    const hostPath = path.resolve(overlay.hostPath);
    let isFolder: boolean;
    try {
      isFolder = fs.lstatSync(hostPath).isDirectory();
    } catch (error) {
      const why = isMissing(error) ? "it does not exist" : describe(error);
      throw new BuildContextError(
        `cannot add ${hostPath} to the build context: ${why}; check the path`,
        hostPath,
        { cause: error },
      );
    }
    if (overlay.within !== undefined) checkWithin(fs, hostPath, overlay.within);
    node.hostPath = hostPath;
    node.file = undefined;
    node.excludes =
      overlay.applyDockerignore === true && isFolder ? folderExcludes(fs, hostPath) : undefined;
    node.children.clear();
  }
  for (const file of files) {
    const relative = contextRelative(file.path);
    if (relative === undefined) {
      throw new InvalidArgumentError(
        `cannot add a file at ${JSON.stringify(file.path)} to the build context: the place in the context must be a relative path without ".."`,
      );
    }
    const node = nodeAt(root, relative);
    node.hostPath = undefined;
    node.file = file;
    node.excludes = undefined;
    node.children.clear();
  }
  refuseExcludedNested(root, "", []);
  return root;
}

/** A folder overlay's `.dockerignore`, which applies below `prefix` in the context. */
interface IgnoreScope {
  readonly matcher: PatternMatcher;
  readonly prefix: string;
  readonly node: OverlayNode;
}

/**
 * Refuses an overlay nested inside a folder overlay whose `.dockerignore` excludes it: a `COPY` of
 * the folder would carry the excluded file into the image.
 */
function refuseExcludedNested(node: OverlayNode, rel: string, scopes: readonly IgnoreScope[]) {
  for (const [name, child] of node.children) {
    const childRel = rel === "" ? name : `${rel}/${name}`;
    if (child.hostPath !== undefined || child.file !== undefined) {
      for (const scope of scopes) {
        const below = childRel.slice(scope.prefix.length + 1);
        if (!scope.matcher.matches(below)) continue;
        const what = child.hostPath ?? child.file?.origin ?? childRel;
        const ignoreFile = path.join(scope.node.hostPath as string, ".dockerignore");
        throw new BuildContextError(
          `cannot add ${what} to the build context at ${childRel}: ${ignoreFile} excludes ${below}, and ${scope.node.hostPath} is sent to ${scope.prefix} with it applied, so a COPY of that folder would carry the file into the image; remove the pattern from that .dockerignore, or send the folder without applying it`,
          what,
        );
      }
    }
    const own =
      child.excludes === undefined
        ? []
        : [{ matcher: child.excludes, prefix: childRel, node: child }];
    refuseExcludedNested(child, childRel, [...scopes, ...own]);
  }
}

/** What the overlays put at `relative`: a host path (maybe inside an overlaid folder) or a file. */
export function overlaySource(
  root: OverlayNode,
  relative: string,
): { hostPath: string } | { file: ContextFile } | undefined {
  const segments = relative.split("/");
  let node: OverlayNode = root;
  for (let index = 0; index < segments.length; index++) {
    const next = node.children.get(segments[index] as string);
    if (next === undefined) {
      if (node.hostPath === undefined) return undefined;
      return { hostPath: path.join(node.hostPath, ...segments.slice(index)) };
    }
    node = next;
  }
  if (node.file !== undefined) return { file: node.file };
  if (node.hostPath !== undefined) return { hostPath: node.hostPath };
  return undefined;
}
