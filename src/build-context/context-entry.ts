/**
 * One entry of a walked build context: its tar header fields and where its bytes come from.
 * @module
 */
import { type HostPath, hostText } from "./host-names.js";
import type { TarEntryType, TarHeader } from "./tar-header.js";

/** Where an entry comes from. */
export type ContextEntryOrigin =
  /** The context directory. */
  | "context"
  /** A host path laid over the context (or found inside an overlaid folder). */
  | "overlay"
  /** A file made in memory (e.g. a Dockerfile from outside the context). */
  | "generated"
  /** A folder made up to hold overlays where the context has none. */
  | "synthetic";

/**
 * One entry of a build context: its tar header fields (owner uid/gid always 0) and where its
 * bytes come from. Files with `hostPath` are read from the host (`readContextFile` in
 * `context-file-reader.ts` reads them safely);
 * files with `content` are sent as those bytes; everything else has no data.
 */
export interface ContextEntry extends TarHeader {
  readonly origin: ContextEntryOrigin;
  /** Where the entry was found on the host (`lstat`ed, never followed). */
  readonly hostPath?: HostPath | undefined;
  /** The bytes of a generated file. */
  readonly content?: Buffer | undefined;
  /** What to report as the entry's source when there is no host path (e.g. an outside Dockerfile). */
  readonly sourceHint?: string | undefined;
  /** `hostPath` as text, else `sourceHint`: the `source` of a `BuildContextEntry`. */
  readonly source?: string | undefined;
  /** A host file's modification time to the nanosecond, when the walk keeps exact times. */
  readonly mtimeNs?: bigint | undefined;
}

/**
 * Every entry is made by this one constructor, so all have the same shape: the walk, the tar
 * writer and the header encoder touch hundreds of thousands of them, and V8 keeps monomorphic
 * property access fast where object spreads made every entry a different shape.
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

  /** The host path as text, or the hint for generated files (`BuildContextEntry.source`). */
  get source(): string | undefined {
    return this.hostPath === undefined ? this.sourceHint : hostText(this.hostPath);
  }
}
