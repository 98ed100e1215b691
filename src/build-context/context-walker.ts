/**
 * The walk of a build context: every entry to send, in the Docker CLI's order, with its tar header
 * fields and where its bytes come from. Pure in the sense that it only reads: no tar, no stream,
 * no scheduling. The tar writer consumes it for the classic builder's upload; BuildKit's file
 * sync can consume the same entries.
 *
 * Over 400 lines on purpose: the walk is one state machine (the stack of open folders, the overlay
 * tree, the follow paths and the pattern matcher's parent results move together); its pieces
 * without that state already live beside it (walk-children.ts, walk-follow.ts, overlay-tree.ts).
 * @module
 */
import nodeFs from "node:fs";
import { type ContextEntry, type ContextEntryOrigin, Entry } from "./context-entry.js";
import type { BuildContextFs } from "./context-fs.js";
import { type MatchInfo, PatternMatcher } from "./dockerignore.js";
import { type HostPath, joinRelative, readLink } from "./host-names.js";
import {
  type BuildContextOverlay,
  type ContextFile,
  type OverlayNode,
  overlayTree,
} from "./overlay-tree.js";
import {
  type Child,
  type EntryStats,
  type Kind,
  kindOfStats,
  listChildren,
  permissions,
  seconds,
} from "./walk-children.js";
import { followTargets } from "./walk-follow.js";

export type { ContextEntry, ContextEntryOrigin } from "./context-entry.js";
export type { BuildContextOverlay, ContextFile } from "./overlay-tree.js";

const DEFAULT_DIR_MODE = 0o755;

/** Options of {@link walkContext}. */
export interface WalkContextOptions {
  /**
   * Exclude patterns with moby's `.dockerignore` semantics (`!` for exceptions, later patterns
   * win), as returned by `parseDockerignore` or sent by the engine. They apply to the context
   * directory's files, not to overlays or generated files. Excluded folders are not read unless
   * an exception may re-include something below them.
   * @default []
   */
  readonly excludes?: readonly string[];
  /**
   * Include patterns (fsutil's `IncludePatterns`): when given, only matching entries are sent,
   * with the folders above them. Same syntax and scope as `excludes`.
   * @default undefined (everything)
   */
  readonly includes?: readonly string[];
  /**
   * Paths whose symlinks are resolved inside the context and their targets included (fsutil's
   * `FollowPaths`, e.g. the Dockerfile). The links themselves are still sent as links; turns on
   * include filtering like `includes` does.
   * @default undefined
   */
  readonly followPaths?: readonly string[];
  /**
   * Context paths sent even when `excludes` excludes them (the classic builder's Dockerfile and
   * `.dockerignore`), unless the include patterns leave them out. @default []
   */
  readonly alwaysInclude?: readonly string[];
  /**
   * A second list of exclude patterns, applied on top of `excludes` with the same semantics and
   * scope: an entry either list excludes is left out, and `alwaysInclude` does not override this
   * one. BuildKit's file sync walks with the engine's patterns here and the context's own
   * `.dockerignore` as `excludes`, so that what the engine asks for can only narrow what is sent.
   * @default []
   */
  readonly alsoExcludes?: readonly string[];
  /** Host files and folders laid over the context; later ones win. @default [] */
  readonly overlays?: readonly BuildContextOverlay[];
  /** Files made in memory, laid over everything else. @default [] */
  readonly files?: readonly ContextFile[];
  /** The file system to read. @default node:fs */
  readonly fs?: BuildContextFs;
  /**
   * Give files their modification time to the nanosecond ({@link ContextEntry.mtimeNs}), as
   * BuildKit's file sync compares it; read with the same one `lstat` per entry.
   * @default false
   */
  readonly exactTimes?: boolean;
}

interface Filter {
  readonly matcher: PatternMatcher;
  readonly info: MatchInfo | undefined;
}

/**
 * A folder overlay's own `.dockerignore` (`applyDockerignore`), in effect below it: paths are
 * matched relative to the overlay, so the first `cut` characters of a context path are dropped.
 */
interface ScopedFilter extends Filter {
  readonly cut: number;
}

/** What the scoped filters say about one entry, and their results for a folder's children. */
interface ScopedResult {
  readonly excluded: boolean;
  /** Whether an excluded folder must still be read for what an exception may bring back. */
  readonly mayIncludeBelow: boolean;
  readonly next: readonly ScopedFilter[];
}

const NO_SCOPES: ScopedResult = { excluded: false, mayIncludeBelow: true, next: [] };

function scopedResult(scoped: readonly ScopedFilter[], rel: string): ScopedResult {
  if (scoped.length === 0) return NO_SCOPES;
  let excluded = false;
  let mayIncludeBelow = true;
  const next: ScopedFilter[] = [];
  for (const filter of scoped) {
    const below = rel.slice(filter.cut);
    const result = filter.matcher.matchesUsingParentResults(below, filter.info);
    next.push({ matcher: filter.matcher, info: result.info, cut: filter.cut });
    if (result.matched) {
      excluded = true;
      if (!filter.matcher.mayIncludeBelow(below, result.info)) mayIncludeBelow = false;
    }
  }
  return { excluded, mayIncludeBelow, next };
}

interface Frame {
  readonly rel: string;
  readonly relBytes: Buffer | undefined;
  readonly children: Child[];
  index: number;
  /** Whether the patterns apply to this folder's real entries, and their results for it. */
  readonly exclude: Filter | undefined;
  readonly also: Filter | undefined;
  readonly include: Filter | undefined;
  /** The `.dockerignore` files of the folder overlays this folder lies in (`applyDockerignore`). */
  readonly scoped: readonly ScopedFilter[];
  /** The folder's own entry while it is held back (a filtered-out folder walked for what is below). */
  pending: ContextEntry | undefined;
  readonly origin: ContextEntryOrigin;
}

/**
 * Walks a build context one entry at a time, synchronously: folders before what they hold, names
 * in byte order, excluded folders pruned, hard links (same device and inode) sent once as a file
 * and then as links, symlinks sent as links and never followed, FIFOs, sockets and devices
 * skipped. Call {@link ContextWalker.next} until it returns `undefined`, or iterate it.
 *
 * Errors from the file system (a folder that cannot be listed, a file that vanished) are thrown
 * from `next()` as they are, with their `path`; the caller names them in its own error.
 */
export class ContextWalker implements Iterable<ContextEntry> {
  /** The context directory, as given. */
  readonly root: string;
  private readonly fs: BuildContextFs;
  private readonly excludes: PatternMatcher | undefined;
  private readonly alsoExcludes: PatternMatcher | undefined;
  private readonly includes: PatternMatcher | undefined;
  private readonly forced: ReadonlySet<string>;
  private readonly forcedDirs: ReadonlySet<string>;
  private readonly rootMtime: number;
  private readonly stack: Frame[] = [];
  private readonly ready: ContextEntry[] = [];
  /**
   * The first name sent of each file with other links (`nlink > 1`), by device and inode: the
   * name's text, or its text and bytes when it has bytes. Only the name is kept, keyed by the
   * numbers themselves: a context whose files are all linked from elsewhere (a `cp -al` copy, a
   * pnpm store) puts every file here, and keeping each one's entry under a `dev:ino` string made
   * a 20,000-file walk's heap several MiB bigger.
   */
  private readonly hardlinks = new Map<
    number | bigint,
    Map<number | bigint, string | readonly [string, Uint8Array]>
  >();
  private readonly exactTimes: boolean;
  private pendingFrames = 0;

  /** Use {@link walkContext}. */
  constructor(root: string, options: WalkContextOptions = {}) {
    this.root = root;
    const fs = options.fs ?? nodeFs;
    this.fs = fs;
    this.exactTimes = options.exactTimes === true;
    const excludes = options.excludes ?? [];
    this.excludes = excludes.length > 0 ? new PatternMatcher(excludes) : undefined;
    const also = options.alsoExcludes ?? [];
    this.alsoExcludes = also.length > 0 ? new PatternMatcher(also) : undefined;
    const follow =
      options.followPaths === undefined ? [] : followTargets(fs, root, options.followPaths);
    if (options.includes !== undefined || options.followPaths !== undefined) {
      this.includes = new PatternMatcher([...(options.includes ?? []), ...follow]);
    }
    this.forced = new Set(options.alwaysInclude ?? []);
    const forcedDirs = new Set<string>();
    for (const name of this.forced) {
      const parts = name.split("/");
      for (let depth = 1; depth < parts.length; depth++)
        forcedDirs.add(parts.slice(0, depth).join("/"));
    }
    this.forcedDirs = forcedDirs;
    const overlays = overlayTree(fs, options.overlays ?? [], options.files ?? []);
    this.rootMtime = seconds(fs.statSync(root));
    this.stack.push({
      rel: "",
      relBytes: undefined,
      children: listChildren(this.fs, root, overlays),
      index: 0,
      exclude: this.excludes && { matcher: this.excludes, info: undefined },
      also: this.alsoExcludes && { matcher: this.alsoExcludes, info: undefined },
      include: this.includes && { matcher: this.includes, info: undefined },
      scoped: [],
      pending: undefined,
      origin: "context",
    });
  }

  /** The next entry, or `undefined` once every entry has been returned. */
  next(): ContextEntry | undefined {
    while (this.ready.length === 0) {
      if (!this.step()) return undefined;
    }
    return this.ready.shift();
  }

  *[Symbol.iterator](): Iterator<ContextEntry> {
    for (let entry = this.next(); entry !== undefined; entry = this.next()) yield entry;
  }

  /** Handles the next child of the innermost folder; `false` once the walk is over. */
  private step(): boolean {
    const frame = this.stack[this.stack.length - 1];
    if (frame === undefined) return false;
    const next = frame.children[frame.index++];
    if (next === undefined) {
      this.stack.pop();
      if (frame.pending !== undefined) this.pendingFrames--;
      return true;
    }
    const rel = joinRelative(frame.rel, frame.relBytes, next);
    const scoped = scopedResult(frame.scoped, rel.text);
    if (next.overlay !== undefined) {
      // An overlay nested in a folder overlay whose .dockerignore excludes it was refused when
      // the tree was made; never send it, whatever happened since.
      if (scoped.excluded) return true;
      this.overlay(frame, next, next.overlay, rel, scoped.next);
      return true;
    }
    const host = next.host as HostPath;
    if (next.kind === "other") return true;
    let excludeInfo: MatchInfo | undefined;
    let alsoInfo: MatchInfo | undefined;
    let includeInfo: MatchInfo | undefined;
    let excluded = false;
    let alsoExcluded = false;
    let notIncluded = false;
    if (frame.exclude !== undefined) {
      const result = frame.exclude.matcher.matchesUsingParentResults(rel.text, frame.exclude.info);
      excludeInfo = result.info;
      excluded = result.matched;
    }
    if (frame.also !== undefined) {
      const result = frame.also.matcher.matchesUsingParentResults(rel.text, frame.also.info);
      alsoInfo = result.info;
      alsoExcluded = result.matched;
    }
    if (frame.include !== undefined) {
      const result = frame.include.matcher.matchesUsingParentResults(rel.text, frame.include.info);
      includeInfo = result.info;
      notIncluded = !result.matched;
    }
    // `alwaysInclude` overrides the exclusions of the walk's own rules (the context's and a
    // folder overlay's `.dockerignore`) only: what the include patterns or `alsoExcludes` leave
    // out stays out.
    const filtered =
      ((excluded || scoped.excluded) && !this.forced.has(rel.text)) || notIncluded || alsoExcluded;
    const mustWalk = () =>
      (!alsoExcluded ||
        this.alsoExcludes?.mayIncludeBelow(rel.text, alsoInfo as MatchInfo) === true) &&
      (this.forcedDirs.has(rel.text) ||
        ((!scoped.excluded || scoped.mayIncludeBelow) &&
          this.mustWalk(rel.text, excluded, excludeInfo, notIncluded, includeInfo)));
    if (filtered) {
      if (next.kind !== "dir" && next.kind !== "unknown") return true;
      if (next.kind === "dir" && !mustWalk()) return true;
    }
    const stats = this.lstat(host);
    const kind = kindOfStats(stats);
    if (kind === "dir") {
      if (filtered && next.kind === "unknown" && !mustWalk()) return true;
      const entry = this.dirEntry(rel, stats, host, frame.origin);
      this.pushFrame({
        rel: rel.text,
        relBytes: rel.bytes,
        children: listChildren(this.fs, host, undefined),
        index: 0,
        exclude: frame.exclude && { matcher: frame.exclude.matcher, info: excludeInfo },
        also: frame.also && { matcher: frame.also.matcher, info: alsoInfo },
        include: frame.include && { matcher: frame.include.matcher, info: includeInfo },
        scoped: scoped.next,
        pending: filtered ? entry : undefined,
        origin: frame.origin,
      });
      if (!filtered) this.send(entry);
    } else if (!filtered) {
      this.nonDirectory(rel, host, stats, kind, frame.origin);
    }
    return true;
  }

  /** Whether a filtered-out folder must still be read for what may be sent below it. */
  private mustWalk(
    rel: string,
    excluded: boolean,
    excludeInfo: MatchInfo | undefined,
    notIncluded: boolean,
    includeInfo: MatchInfo | undefined,
  ): boolean {
    if (this.forcedDirs.has(rel)) return true;
    if (excluded && !this.excludes?.mayIncludeBelow(rel, excludeInfo as MatchInfo)) return false;
    return !notIncluded || this.includes?.mayMatchBelow(rel, includeInfo as MatchInfo) === true;
  }

  private overlay(
    frame: Frame,
    next: Child,
    node: OverlayNode,
    rel: { text: string; bytes: Buffer | undefined },
    scoped: readonly ScopedFilter[],
  ): void {
    if (node.file !== undefined) {
      const { content, mode = 0o644, mtime = Math.floor(Date.now() / 1000), origin } = node.file;
      this.send(
        new Entry(
          rel.text,
          rel.bytes,
          "file",
          mode,
          content.length,
          mtime,
          "generated",
          undefined,
          undefined,
          undefined,
          content,
          origin,
        ),
      );
      return;
    }
    const base = { rel: rel.text, relBytes: rel.bytes, index: 0, pending: undefined };
    if (node.hostPath !== undefined) {
      const stats = this.lstat(node.hostPath);
      const kind = kindOfStats(stats);
      if (kind === "dir" || node.children.size > 0) {
        const host = kind === "dir" ? node.hostPath : undefined;
        this.send(
          host === undefined ? this.syntheticDir(rel) : this.dirEntry(rel, stats, host, "overlay"),
        );
        const children = listChildren(this.fs, host, node);
        this.pushFrame({
          ...base,
          children,
          exclude: undefined,
          also: undefined,
          include: undefined,
          scoped:
            node.excludes === undefined
              ? scoped
              : [...scoped, { matcher: node.excludes, info: undefined, cut: rel.text.length + 1 }],
          origin: "overlay",
        });
      } else {
        this.nonDirectory(rel, node.hostPath, stats, kind, "overlay");
      }
      return;
    }
    // A folder that only exists to hold deeper overlays: keep the real one, if any, beneath them.
    let stats: EntryStats | undefined;
    if (next.host !== undefined && (next.kind === "dir" || next.kind === "unknown")) {
      stats = this.lstat(next.host);
      if (!stats.isDirectory()) stats = undefined;
    }
    const host = stats === undefined ? undefined : next.host;
    const filter = (parent: Filter | undefined): Filter | undefined =>
      parent === undefined || host === undefined
        ? undefined
        : {
            matcher: parent.matcher,
            info: parent.matcher.matchesUsingParentResults(rel.text, parent.info).info,
          };
    this.send(
      stats === undefined ? this.syntheticDir(rel) : this.dirEntry(rel, stats, host, frame.origin),
    );
    this.pushFrame({
      ...base,
      children: listChildren(this.fs, host, node),
      exclude: filter(frame.exclude),
      also: filter(frame.also),
      include: filter(frame.include),
      scoped,
      origin: host === undefined ? "overlay" : frame.origin,
    });
  }

  /** One `lstat`, with nanosecond times when the walk keeps them. */
  private lstat(host: HostPath): EntryStats {
    return this.exactTimes ? this.fs.lstatSync(host, { bigint: true }) : this.fs.lstatSync(host);
  }

  private pushFrame(frame: Frame): void {
    this.stack.push(frame);
    if (frame.pending !== undefined) this.pendingFrames++;
  }

  private dirEntry(
    rel: { text: string; bytes: Buffer | undefined },
    stats: EntryStats,
    host: HostPath | undefined,
    origin: ContextEntryOrigin,
  ): ContextEntry {
    return new Entry(
      rel.text,
      rel.bytes,
      "directory",
      permissions(stats),
      0,
      seconds(stats),
      origin,
      host,
    );
  }

  private syntheticDir(rel: { text: string; bytes: Buffer | undefined }): ContextEntry {
    return new Entry(
      rel.text,
      rel.bytes,
      "directory",
      DEFAULT_DIR_MODE,
      0,
      this.rootMtime,
      "synthetic",
      undefined,
    );
  }

  private nonDirectory(
    rel: { text: string; bytes: Buffer | undefined },
    host: HostPath,
    stats: EntryStats,
    kind: Kind,
    origin: ContextEntryOrigin,
  ): void {
    const mode = permissions(stats);
    const mtime = seconds(stats);
    const { text, bytes } = rel;
    if (kind === "symlink") {
      const target = readLink(this.fs, host);
      this.send(
        new Entry(text, bytes, "symlink", mode, 0, mtime, origin, host, target.text, target.bytes),
      );
      return;
    }
    if (kind !== "file") return;
    if (stats.nlink > 1) {
      let inodes = this.hardlinks.get(stats.dev);
      if (inodes === undefined) {
        inodes = new Map();
        this.hardlinks.set(stats.dev, inodes);
      }
      const first = inodes.get(stats.ino);
      if (first !== undefined) {
        const [name, nameBytes] = typeof first === "string" ? [first, undefined] : first;
        this.send(new Entry(text, bytes, "link", mode, 0, mtime, origin, host, name, nameBytes));
        return;
      }
      const entry = this.fileEntry(rel, mode, mtime, stats, origin, host);
      inodes.set(stats.ino, bytes === undefined ? text : [text, bytes]);
      this.send(entry);
      return;
    }
    this.send(this.fileEntry(rel, mode, mtime, stats, origin, host));
  }

  private fileEntry(
    rel: { text: string; bytes: Buffer | undefined },
    mode: number,
    mtime: number,
    stats: EntryStats,
    origin: ContextEntryOrigin,
    host: HostPath,
  ): ContextEntry {
    return new Entry(
      rel.text,
      rel.bytes,
      "file",
      mode,
      Number(stats.size),
      mtime,
      origin,
      host,
      undefined,
      undefined,
      undefined,
      undefined,
      "mtimeNs" in stats ? stats.mtimeNs : undefined,
    );
  }

  /** Queues `entry`, after the held-back folders above it. */
  private send(entry: ContextEntry): void {
    if (this.pendingFrames > 0) {
      for (const frame of this.stack) {
        if (frame.pending === undefined) continue;
        this.ready.push(frame.pending);
        frame.pending = undefined;
        this.pendingFrames--;
      }
    }
    this.ready.push(entry);
  }
}

/**
 * Walks the build context `root` (an absolute, real path to a folder): see {@link ContextWalker}.
 * Overlays are checked now: a host path that does not exist throws a `BuildContextError` naming
 * it, a bad context path an `InvalidArgumentError`; bad patterns throw `InvalidArgumentError`.
 * @example
 * for (const entry of walkContext("/src/app", { excludes: ["node_modules"] })) {
 *   console.log(entry.type, entry.name, entry.size);
 * }
 */
export function walkContext(root: string, options: WalkContextOptions = {}): ContextWalker {
  return new ContextWalker(root, options);
}
