/**
 * The children of a folder as the walker sees them: host entries merged with overlays, in the
 * Docker CLI's order.
 * @module
 */
import type { BigIntStats, Dirent, Stats } from "node:fs";
import type { BuildContextFs } from "./context-fs.js";
import { type HostPath, hostName, joinHost } from "./host-names.js";
import type { OverlayNode } from "./overlay-tree.js";

/** What a child is, as far as the listing or `lstat` tells. */
export type Kind = "dir" | "file" | "symlink" | "other" | "unknown";

/**
 * One child of a folder. A class rather than object literals so that every child has one shape:
 * the walk makes one per file, and monomorphic access keeps it cheap.
 */
export class Child {
  /** Byte order differs from UTF-16 order here: names with bytes, surrogates or U+E000 and up. */
  readonly wide: boolean;
  overlay: OverlayNode | undefined = undefined;

  constructor(
    /** The name as text; each byte that is not valid UTF-8 is U+FFFD. */
    readonly text: string,
    /** The name's exact bytes, only when they are not valid UTF-8. */
    readonly bytes: Buffer | undefined,
    public host: HostPath | undefined,
    public kind: Kind,
  ) {
    this.wide = bytes !== undefined || WIDE.test(text);
  }
}

const WIDE = /[\ud800-\uffff]/;

function kindOf(dirent: Dirent | Dirent<Buffer>): Kind {
  if (dirent.isFile()) return "file";
  if (dirent.isDirectory()) return "dir";
  if (dirent.isSymbolicLink()) return "symlink";
  if (dirent.isFIFO() || dirent.isSocket() || dirent.isCharacterDevice() || dirent.isBlockDevice())
    return "other";
  return "unknown";
}

/**
 * What the walker reads from `lstat`: node:fs's `Stats`, or `BigIntStats` when the walk keeps
 * exact nanosecond times (BuildKit's file sync), which the one call then gives as well.
 */
export type EntryStats = Stats | BigIntStats;

/** The kind `lstat` reports. */
export function kindOfStats(stats: EntryStats): Kind {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "dir";
  if (stats.isSymbolicLink()) return "symlink";
  return "other";
}

/** Byte order of the names, like Go's `filepath.WalkDir` and GNU tar's `--sort=name`. */
function compareChildren(a: Child, b: Child): number {
  if (a.wide || b.wide) {
    return Buffer.compare(a.bytes ?? Buffer.from(a.text), b.bytes ?? Buffer.from(b.text));
  }
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

/** Modification time in whole seconds (rounded down), as the tar header has it. */
export function seconds(stats: EntryStats): number {
  if (typeof stats.mtimeMs === "number") return Math.floor(stats.mtimeMs / 1000);
  const ns = (stats as BigIntStats).mtimeNs;
  const whole = ns / 1_000_000_000n;
  return Number(ns < 0n && whole * 1_000_000_000n !== ns ? whole - 1n : whole);
}

/** Permission bits plus setuid, setgid and sticky. */
export function permissions(stats: EntryStats): number {
  return Number(stats.mode) & 0o7777;
}

/**
 * The children of the folder `host` (if any) merged with the overlays below `overlay` (which win
 * by name), in byte order of their names.
 */
export function listChildren(
  fs: BuildContextFs,
  host: HostPath | undefined,
  overlay: OverlayNode | undefined,
): Child[] {
  const children = host === undefined ? [] : listHost(fs, host);
  if (overlay !== undefined && overlay.children.size > 0) {
    const byName = new Map(children.map((entry) => [entry.text, entry]));
    for (const [name, node] of overlay.children) {
      let existing = byName.get(name);
      if (existing === undefined) {
        existing = new Child(name, undefined, undefined, "unknown");
        byName.set(name, existing);
        children.push(existing);
      }
      existing.overlay = node;
    }
  }
  return children.sort(compareChildren);
}

/** The folder's entries with their names as the host has them, in the order it lists them. */
function listHost(fs: BuildContextFs, host: HostPath): Child[] {
  if (typeof host === "string") {
    const dirents = fs.readdirSync(host, { withFileTypes: true });
    // Node shows bytes that are not UTF-8 as U+FFFD: only then read the names again as bytes.
    if (!dirents.some((dirent) => dirent.name.includes("\ufffd"))) {
      const children: Child[] = [];
      for (const dirent of dirents) {
        const { name } = dirent;
        children.push(new Child(name, undefined, `${host}/${name}`, kindOf(dirent)));
      }
      return children;
    }
  }
  return fs.readdirSync(host, { withFileTypes: true, encoding: "buffer" }).map((dirent) => {
    const name = hostName(dirent.name);
    return new Child(name.text, name.bytes, joinHost(host, name), kindOf(dirent));
  });
}
