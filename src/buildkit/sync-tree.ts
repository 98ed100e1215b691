/**
 * The entries of a folder as FileSync sends them: what the engine asks for (its exclude patterns
 * with moby's `.dockerignore` semantics, its include patterns), plus `ImageBuilder` overlays, in
 * the order fsutil's receiver checks (byte order of names, folder by folder, folders first).
 *
 * TEMPORARY SHIM: this walks the file system itself until the context layer's pure walker (issue 8)
 * lands on main; it is then replaced by an adapter from that walker's entries to
 * {@link SyncEntry}, keeping {@link walkSyncTree}'s signature. It follows the same rules as
 * `createBuildContext`: symlinks are sent as links, never followed; FIFOs, sockets and devices
 * are left out; a file seen twice (same device and inode) becomes a hard link.
 * @module
 */
import nodeFs, { type Dirent, type Stats } from "node:fs";
import path from "node:path";
import type { BuildContextOverlay } from "../context/build-context.js";
import { type MatchInfo, PatternMatcher } from "../context/dockerignore.js";
import { BuildContextError, InvalidArgumentError } from "../errors.js";

/** One entry of a synced folder. */
export interface SyncEntry {
  /** Relative, `/`-separated. */
  readonly name: string;
  readonly type: "file" | "directory" | "symlink" | "link";
  /** Permission bits (`0o7777`). */
  readonly mode: number;
  /** Bytes of a file; 0 otherwise. */
  readonly size: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
  /** A symlink's target, or for a hard link the name of the entry it links to. */
  readonly linkname?: string | undefined;
  /** The host file to read a file's content from. */
  readonly source?: string | undefined;
}

/** What to walk. */
export interface SyncTree {
  /** The folder. */
  readonly root: string;
  /** Host files and folders laid over it (ImageBuilder's copies); `.dockerignore` spares them. */
  readonly overlays?: readonly BuildContextOverlay[] | undefined;
}

/** What the engine asked for. */
export interface SyncFilter {
  /** Exclude patterns, with `.dockerignore` semantics. @default none */
  readonly excludes?: readonly string[] | undefined;
  /**
   * Whether to send a path (and, for a folder, to walk it), in walk order. @default everything
   */
  readonly includes?: ((path: string, isDirectory: boolean) => boolean) | undefined;
}

interface OverlayNode {
  hostPath: string | undefined;
  readonly children: Map<string, OverlayNode>;
}

interface Child {
  readonly name: string;
  readonly host: string | undefined;
  readonly dirent: Dirent | undefined;
  overlay: OverlayNode | undefined;
}

function overlayTree(overlays: readonly BuildContextOverlay[]): OverlayNode {
  const root: OverlayNode = { hostPath: undefined, children: new Map() };
  for (const [index, overlay] of overlays.entries()) {
    const segments = overlay.contextPath.split("/").filter((part) => part !== "" && part !== ".");
    if (segments.length === 0 || segments.includes("..") || path.isAbsolute(overlay.contextPath)) {
      throw new InvalidArgumentError(
        `overlays[${index}].contextPath must be a relative POSIX path inside the context without "..", got ${JSON.stringify(overlay.contextPath)}`,
      );
    }
    let node = root;
    for (const segment of segments) {
      let next = node.children.get(segment);
      if (next === undefined) {
        next = { hostPath: undefined, children: new Map() };
        node.children.set(segment, next);
      }
      node = next;
    }
    const hostPath = path.resolve(overlay.hostPath);
    try {
      node.hostPath = nodeFs.realpathSync(hostPath);
    } catch (error) {
      throw new BuildContextError(
        `cannot read overlays[${index}].hostPath ${hostPath}: ${(error as Error).message}`,
        hostPath,
        { cause: error },
      );
    }
    node.children.clear();
  }
  return root;
}

/** Byte order of UTF-8 names, like Go's sorted directory reads. */
function compareNames(a: Child, b: Child): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

function mtimeNs(stats: Stats): bigint {
  // Exact to well under a microsecond, and the same for the same file every time, which is
  // what the engine compares to decide whether a file changed.
  return BigInt(Math.round(stats.mtimeMs * 1e6));
}

/** The entries of `tree` that `filter` lets through, lazily, in fsutil's order. */
export function* walkSyncTree(tree: SyncTree, filter: SyncFilter = {}): Generator<SyncEntry> {
  const matcher = new PatternMatcher(filter.excludes ?? []);
  const includes = filter.includes;
  const hardlinks = new Map<string, string>();
  const overlays = overlayTree(tree.overlays ?? []);
  const root = nodeFs.realpathSync(path.resolve(tree.root));

  const list = (host: string | undefined, overlay: OverlayNode | undefined): Child[] => {
    const children: Child[] = [];
    if (host !== undefined) {
      for (const dirent of nodeFs.readdirSync(host, { withFileTypes: true })) {
        children.push({
          name: dirent.name,
          host: `${host}/${dirent.name}`,
          dirent,
          overlay: undefined,
        });
      }
    }
    if (overlay !== undefined && overlay.children.size > 0) {
      const byName = new Map(children.map((child) => [child.name, child]));
      for (const [name, node] of overlay.children) {
        const existing = byName.get(name);
        if (existing) existing.overlay = node;
        else children.push({ name, host: undefined, dirent: undefined, overlay: node });
      }
    }
    return children.sort(compareNames);
  };

  function* entry(rel: string, host: string, stats: Stats): Generator<SyncEntry> {
    const mode = stats.mode & 0o7777;
    if (stats.isSymbolicLink()) {
      const linkname = nodeFs.readlinkSync(host);
      yield {
        name: rel,
        type: "symlink",
        mode,
        size: Buffer.byteLength(linkname),
        mtimeNs: mtimeNs(stats),
        linkname,
        source: host,
      };
      return;
    }
    if (!stats.isFile()) return;
    if (stats.nlink > 1) {
      const key = `${stats.dev}:${stats.ino}`;
      const first = hardlinks.get(key);
      if (first !== undefined) {
        yield {
          name: rel,
          type: "link",
          mode,
          size: 0,
          mtimeNs: mtimeNs(stats),
          linkname: first,
          source: host,
        };
        return;
      }
      hardlinks.set(key, rel);
    }
    yield {
      name: rel,
      type: "file",
      mode,
      size: stats.size,
      mtimeNs: mtimeNs(stats),
      source: host,
    };
  }

  const directory = (
    rel: string,
    stats: Stats | undefined,
    source: string | undefined,
  ): SyncEntry => ({
    name: rel,
    type: "directory",
    mode: stats ? stats.mode & 0o7777 : 0o755,
    size: 0,
    mtimeNs: stats ? mtimeNs(stats) : 0n,
    source,
  });

  /** Excluded folders walked for exceptions: sent only once something below them is. */
  const held: SyncEntry[] = [];
  const release = () => held.splice(0);

  function* walk(
    rel: string,
    host: string | undefined,
    overlay: OverlayNode | undefined,
    ignore: boolean,
    info: MatchInfo | undefined,
  ): Generator<SyncEntry> {
    for (const child of list(host, overlay)) {
      const childRel = rel === "" ? child.name : `${rel}/${child.name}`;
      const node = child.overlay;
      if (node !== undefined && node.hostPath !== undefined) {
        const stats = nodeFs.lstatSync(node.hostPath);
        const isDir = stats.isDirectory() || node.children.size > 0;
        if (includes && !includes(childRel, isDir)) continue;
        if (!isDir) {
          yield* release();
          yield* entry(childRel, node.hostPath, stats);
          continue;
        }
        yield* release();
        const dirHost = stats.isDirectory() ? node.hostPath : undefined;
        yield directory(childRel, stats.isDirectory() ? stats : undefined, dirHost);
        yield* walk(childRel, dirHost, node, false, undefined);
        continue;
      }
      if (node !== undefined) {
        // Only holds deeper overlays: the real folder, if any, stays beneath them.
        let stats: Stats | undefined;
        if (child.host !== undefined) {
          stats = nodeFs.lstatSync(child.host);
          if (!stats.isDirectory()) stats = undefined;
        }
        if (includes && !includes(childRel, true)) continue;
        const childInfo =
          stats && ignore && !matcher.empty
            ? matcher.matchesUsingParentResults(childRel, info).info
            : undefined;
        yield* release();
        yield directory(childRel, stats, stats ? child.host : undefined);
        yield* walk(
          childRel,
          stats ? child.host : undefined,
          node,
          ignore && stats !== undefined,
          childInfo,
        );
        continue;
      }
      const dirent = child.dirent as Dirent;
      const host = child.host as string;
      if (
        dirent.isFIFO() ||
        dirent.isSocket() ||
        dirent.isCharacterDevice() ||
        dirent.isBlockDevice()
      ) {
        continue;
      }
      const mayBeDir = dirent.isDirectory() || !(dirent.isFile() || dirent.isSymbolicLink());
      if (includes && !includes(childRel, dirent.isDirectory())) continue;
      let excluded = false;
      let childInfo: MatchInfo | undefined;
      if (ignore && !matcher.empty) {
        const result = matcher.matchesUsingParentResults(childRel, info);
        childInfo = result.info;
        excluded = result.matched;
      }
      if (excluded && !mayBeDir) continue;
      if (excluded && !(childInfo && matcher.mayIncludeBelow(childRel, childInfo))) continue;
      const stats = nodeFs.lstatSync(host);
      if (stats.isDirectory()) {
        const dir = directory(childRel, stats, host);
        if (excluded) {
          held.push(dir);
          yield* walk(childRel, host, undefined, ignore, childInfo);
          if (held[held.length - 1] === dir) held.pop();
        } else {
          yield* release();
          yield dir;
          yield* walk(childRel, host, undefined, ignore, childInfo);
        }
      } else if (!excluded) {
        yield* release();
        yield* entry(childRel, host, stats);
      }
    }
  }

  yield* walk("", root, overlays, true, undefined);
}

/**
 * The link target of `rel` in `tree` (overlays included), or `undefined` when it is not a symlink
 * or does not exist: what {@link resolveFollowPaths} needs.
 */
export function readTreeLink(tree: SyncTree, rel: string): string | undefined {
  for (const entry of walkSyncTree(tree, {
    includes: (candidate) => rel === candidate || rel.startsWith(`${candidate}/`),
  })) {
    if (entry.name === rel) return entry.type === "symlink" ? entry.linkname : undefined;
  }
  return undefined;
}
