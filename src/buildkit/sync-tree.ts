/**
 * The entries of a folder as FileSync sends them: the context layer's walker (moby's
 * `.dockerignore` semantics, `ImageBuilder` overlays, files made in memory, symlinks sent as links
 * and never followed, special files left out, hard links sent once) run with what the engine asks
 * for, its entries turned into what the DiffCopy sender needs.
 * @module
 */
import nodeFs from "node:fs";
import type { BuildContextOverlay, ContextFile } from "../build-context/context-walker.js";
import { type ContextEntry, walkContext } from "../build-context/context-walker.js";
import { PatternMatcher } from "../build-context/dockerignore.js";
import { followTargets } from "../build-context/walk-follow.js";

/** One entry of a synced folder. */
export interface SyncEntry {
  /** Relative, `/`-separated. */
  readonly name: string;
  /** The name's bytes, when they are not UTF-8 (Linux allows any bytes but `/` and NUL). */
  readonly nameBytes?: Uint8Array | undefined;
  readonly type: "file" | "directory" | "symlink" | "link";
  /** Permission bits (`0o7777`). */
  readonly mode: number;
  /** Bytes of a file; 0 otherwise. */
  readonly size: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
  /** A symlink's target, or for a hard link the name of the entry it links to. */
  readonly linkname?: string | undefined;
  /** The link target's bytes, when they are not UTF-8. */
  readonly linknameBytes?: Uint8Array | undefined;
  /** The host file a file's content is read from. */
  readonly source?: string | Buffer | undefined;
  /** The content of a file made in memory. */
  readonly content?: Uint8Array | undefined;
}

/** What to walk. */
export interface SyncTree {
  /** The folder. */
  readonly root: string;
  /** Host files and folders laid over it (ImageBuilder's copies); `.dockerignore` spares them. */
  readonly overlays?: readonly BuildContextOverlay[] | undefined;
  /** Files made in memory, laid over everything else. */
  readonly files?: readonly ContextFile[] | undefined;
  /**
   * The folder's own ignore rules, chosen and applied as the classic build does (the
   * Dockerfile's `.dockerignore` or the context's, and the paths sent despite them): whatever
   * the engine asks, an entry they exclude is never sent. The engine normally asks for the same
   * patterns; this keeps a request that cannot be trusted from widening what leaves the machine.
   */
  readonly ignore?:
    | { readonly excludes: readonly string[]; readonly alwaysInclude: readonly string[] }
    | undefined;
  /**
   * When set, nothing else may be sent from the folder, whatever the engine asks: these paths,
   * the links on the way to them and what those lead to inside it (the Dockerfile's folder, which
   * may be outside the context: only the Dockerfile and its ignore file).
   */
  readonly only?: readonly string[] | undefined;
}

/** What the engine asked for, from the FileSync call's metadata. */
export interface SyncFilter {
  /** Exclude patterns, with `.dockerignore` semantics. @default none */
  readonly excludes?: readonly string[] | undefined;
  /** Include patterns: only matching paths (and the folders above them). @default everything */
  readonly includes?: readonly string[] | undefined;
  /** Paths whose symlinks are followed inside the folder and their targets included. */
  readonly followPaths?: readonly string[] | undefined;
}

/**
 * The engine decides whether a file changed since the last build by comparing its time to the
 * nanosecond; tar headers have whole seconds, so a file rewritten within the second a build read
 * it would look unchanged. The walker gives files their exact time (from the one `lstat` it makes
 * anyway); folders and links need none, as no content is sent for them.
 */
function exactTime(entry: ContextEntry): bigint {
  if (entry.type === "file" && entry.mtimeNs !== undefined) return entry.mtimeNs;
  return BigInt(entry.mtime) * 1_000_000_000n;
}

function entryOf(entry: ContextEntry): SyncEntry | undefined {
  const { type } = entry;
  if (type !== "file" && type !== "directory" && type !== "symlink" && type !== "link") {
    return undefined;
  }
  return {
    name: entry.name,
    nameBytes: entry.nameBytes,
    type,
    mode: entry.mode,
    // fsutil sends lstat's size: a symlink's is the length of its target.
    size:
      type === "file"
        ? entry.size
        : type === "symlink"
          ? (entry.linknameBytes?.length ?? Buffer.byteLength(entry.linkname ?? ""))
          : 0,
    mtimeNs: exactTime(entry),
    linkname: entry.linkname,
    linknameBytes: entry.linknameBytes,
    source: entry.hostPath,
    content: entry.content,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/** Whether a path may be sent under {@link SyncTree.only}: one of them, below one, or above one. */
function onlyFilter(root: string, only: readonly string[]): (name: string) => boolean {
  const targets = followTargets(nodeFs, root, only);
  const below = new PatternMatcher(targets);
  const above = new Set<string>();
  for (const target of targets) {
    const parts = target.split("/");
    for (let depth = 1; depth < parts.length; depth++) above.add(parts.slice(0, depth).join("/"));
  }
  return (name) => above.has(name) || below.matches(name);
}

/**
 * The entries of `tree` that `filter` (the engine's request) selects and the tree's own rules
 * allow, lazily, in the order fsutil's receiver checks.
 */
export function* walkSyncTree(tree: SyncTree, filter: SyncFilter = {}): Generator<SyncEntry> {
  const asked = filter.excludes ?? [];
  const own = tree.ignore;
  // The engine's patterns are the context's own `.dockerignore` in the usual case: one matcher
  // then, without the paths the classic build sends despite them (the engine leaves those out).
  const excludes =
    own === undefined || sameList(own.excludes, asked)
      ? { excludes: asked }
      : { excludes: own.excludes, alwaysInclude: own.alwaysInclude, alsoExcludes: asked };
  const includes = filter.includes !== undefined && filter.includes.length > 0;
  const follows = filter.followPaths !== undefined && filter.followPaths.length > 0;
  const walker = walkContext(tree.root, {
    ...excludes,
    ...(includes ? { includes: filter.includes } : {}),
    ...(follows ? { followPaths: filter.followPaths } : {}),
    // Asked for everything of a folder limited to a few paths: walk only those.
    ...(!includes && !follows && tree.only !== undefined ? { followPaths: tree.only } : {}),
    overlays: tree.overlays ?? [],
    files: tree.files ?? [],
    exactTimes: true,
  });
  const allowed = tree.only === undefined ? undefined : onlyFilter(tree.root, tree.only);
  for (const entry of walker) {
    if (allowed !== undefined && !allowed(entry.name)) continue;
    const synced = entryOf(entry);
    if (synced !== undefined) yield synced;
  }
}
