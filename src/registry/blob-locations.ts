/**
 * Which repositories of a registry are known to hold a blob, so a push to another repository of
 * the same registry can mount it (a cross-repository mount, no bytes sent) instead of uploading
 * it again: the engine keeps the same knowledge for its pushes.
 * @module
 */

/** Most digests remembered per registry; the oldest are forgotten first. */
const MAX_DIGESTS = 10_000;
/** Most repositories remembered per digest. */
const MAX_REPOSITORIES = 4;

/** What this process has seen in registries: digest to the repositories that hold it. */
export class BlobLocations {
  readonly #registries = new Map<string, Map<string, string[]>>();

  /** Notes that `repository` of `registry` holds `digest` (it was found or put there). */
  remember(registry: string, repository: string, digest: string): void {
    let digests = this.#registries.get(registry);
    if (!digests) {
      digests = new Map();
      this.#registries.set(registry, digests);
    }
    const repositories = (digests.get(digest) ?? []).filter((known) => known !== repository);
    repositories.unshift(repository);
    // Re-inserted, so the map's order is least recently seen first.
    digests.delete(digest);
    digests.set(digest, repositories.slice(0, MAX_REPOSITORIES));
    if (digests.size > MAX_DIGESTS) {
      const oldest = digests.keys().next().value;
      if (oldest !== undefined) digests.delete(oldest);
    }
  }

  /** A repository of `registry` other than `repository` known to hold `digest`, if any. */
  elsewhere(registry: string, repository: string, digest: string): string | undefined {
    return this.#registries
      .get(registry)
      ?.get(digest)
      ?.find((known) => known !== repository);
  }
}

/** The process's own record, shared by every push of the process. */
export const processBlobLocations = new BlobLocations();
