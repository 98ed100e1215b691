import { type HostPath, hostText } from "./host-names.js";
import type { TarEntryType, TarHeader } from "./tar-header.js";

/**
 * Where an entry comes from: the context directory, an overlay (or inside an overlaid folder), a
 * file made in memory, or a `synthetic` folder made to hold overlays where the context has none.
 */
export type ContextEntryOrigin = "context" | "overlay" | "generated" | "synthetic";

/**
 * One entry of a build context: its tar header fields (owner uid/gid always 0) and where its
 * bytes come from: a host file (read safely by `readContextFile`) or `content`.
 */
export interface ContextEntry extends TarHeader {
  readonly origin: ContextEntryOrigin;
  /** Where the entry was found on the host (`lstat`ed, never followed). */
  readonly hostPath?: HostPath | undefined;
  readonly content?: Buffer | undefined;
  /** What to report as the entry's source when there is no host path (e.g. an outside Dockerfile). */
  readonly sourceHint?: string | undefined;
  /** `hostPath` as text, else `sourceHint`: the `source` of a `BuildContextEntry`. */
  readonly source?: string | undefined;
  /** A host file's modification time to the nanosecond, when the walk keeps exact times. */
  readonly mtimeNs?: bigint | undefined;
}

/**
 * Every entry is made by this one constructor, so all share one shape: V8 keeps property access
 * on hundreds of thousands of them monomorphic, which object spreads did not.
 */
export class Entry implements ContextEntry {
  constructor(
    readonly name: string,
    readonly nameBytes: Uint8Array | undefined,
    readonly type: TarEntryType,
    readonly mode: number,
    readonly size: number,
    readonly mtime: number,
    readonly origin: ContextEntryOrigin,
    readonly hostPath: HostPath | undefined,
    readonly linkname: string | undefined = undefined,
    readonly linknameBytes: Uint8Array | undefined = undefined,
    readonly content: Buffer | undefined = undefined,
    readonly sourceHint: string | undefined = undefined,
    readonly mtimeNs: bigint | undefined = undefined,
  ) {}

  /** `BuildContextEntry.source`: the host path as text, else `sourceHint`. */
  get source(): string | undefined {
    return this.hostPath === undefined ? this.sourceHint : hostText(this.hostPath);
  }
}
