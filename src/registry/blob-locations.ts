/**
 * What this process knows of the blobs it pushed, so a later push sends fewer bytes, as the engine
 * does with the same knowledge: which repositories of a registry hold a blob (another repository
 * of the registry can then mount it instead of uploading it again), and what gzip made of each
 * layer (Node's zlib gives the same bytes for the same layer at the same level, so a later push of
 * the layer asks the registry about the compressed blob before compressing anything).
 * @module
 */

/** Most digests remembered per registry, and most compressed layers; the oldest go first. */
const MAX_DIGESTS = 10_000;
/** Most repositories remembered per digest. */
const MAX_REPOSITORIES = 4;

/** A compressed layer's digest and size. */
export interface CompressedDigest {
  readonly digest: string;
  readonly size: number;
}

/** Sets `key` as the newest entry of `map` (least recently set first), forgetting the oldest. */
function setNewest<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_DIGESTS) map.delete(map.keys().next().value as K);
}

/** What this process has seen in registries, and the compressed digests of layers it made. */
export class BlobLocations {
  readonly #registries = new Map<string, Map<string, string[]>>();
  readonly #compressed = new Map<string, CompressedDigest>();

  /** Notes that `repository` of `registry` holds `digest` (it was found or put there). */
  remember(registry: string, repository: string, digest: string): void {
    let digests = this.#registries.get(registry);
    if (!digests) {
      digests = new Map();
      this.#registries.set(registry, digests);
    }
    const others = (digests.get(digest) ?? []).filter((known) => known !== repository);
    setNewest(digests, digest, [repository, ...others].slice(0, MAX_REPOSITORIES));
  }

  /** A repository of `registry` other than `repository` known to hold `digest`, if any. */
  elsewhere(registry: string, repository: string, digest: string): string | undefined {
    return this.#registries
      .get(registry)
      ?.get(digest)
      ?.find((known) => known !== repository);
  }

  /** The compressed digest of the layer with this diff ID, if this process made it. */
  compressed(diffId: string): CompressedDigest | undefined {
    return this.#compressed.get(diffId);
  }

  /** Notes what compressing the layer with this diff ID gave. */
  rememberCompressed(diffId: string, compressed: CompressedDigest): void {
    setNewest(this.#compressed, diffId, compressed);
  }
}

/** The process's own record, shared by every push of the process. */
export const processBlobLocations = new BlobLocations();
