/**
 * What gzip made of each layer this process compressed: the compressed digest and size by the
 * layer's uncompressed digest (its diff ID). Node's zlib gives the same bytes for the same layer
 * at the same level, so a later push of the layer (another platform sharing it, another tag, the
 * next deploy) can ask the registry about the compressed blob before compressing anything, as the
 * engine does with the digests it remembers.
 * @module
 */

/** Most layers remembered; the oldest are forgotten first. */
const MAX_LAYERS = 10_000;

/** A compressed layer's digest and size. */
export interface CompressedDigest {
  readonly digest: string;
  readonly size: number;
}

/** Compressed digests by diff ID, bounded. */
export class LayerDigests {
  readonly #digests = new Map<string, CompressedDigest>();

  /** The compressed digest of the layer with this diff ID, if this process made it. */
  get(diffId: string): CompressedDigest | undefined {
    return this.#digests.get(diffId);
  }

  /** Notes what compressing the layer gave. */
  set(diffId: string, compressed: CompressedDigest): void {
    this.#digests.delete(diffId);
    this.#digests.set(diffId, compressed);
    if (this.#digests.size > MAX_LAYERS) {
      const oldest = this.#digests.keys().next().value;
      if (oldest !== undefined) this.#digests.delete(oldest);
    }
  }
}

/** The process's own record, shared by every push of the process. */
export const processLayerDigests = new LayerDigests();
