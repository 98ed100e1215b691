/**
 * The entries of a folder as FileSync sends them: the context layer's walker (moby's
 * `.dockerignore` semantics, `ImageBuilder` overlays, files made in memory, symlinks sent as links
 * and never followed, special files left out, hard links sent once) run with what the engine asks
 * for, its entries turned into what the DiffCopy sender needs.
 * @module
 */
import type { BuildContextOverlay, ContextFile } from "../context/context-walker.js";
import { type ContextEntry, walkContext } from "../context/context-walker.js";

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

/** The entries of `tree` that `filter` selects, lazily, in the order fsutil's receiver checks. */
export function* walkSyncTree(tree: SyncTree, filter: SyncFilter = {}): Generator<SyncEntry> {
  const walker = walkContext(tree.root, {
    excludes: filter.excludes ?? [],
    ...(filter.includes !== undefined && filter.includes.length > 0
      ? { includes: filter.includes }
      : {}),
    ...(filter.followPaths !== undefined && filter.followPaths.length > 0
      ? { followPaths: filter.followPaths }
      : {}),
    overlays: tree.overlays ?? [],
    files: tree.files ?? [],
    exactTimes: true,
  });
  for (const entry of walker) {
    const synced = entryOf(entry);
    if (synced !== undefined) yield synced;
  }
}
