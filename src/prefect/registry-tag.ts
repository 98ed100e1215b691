/**
 * The registry tag `pushImage` puts on the image, and its removal afterwards. Prefect removes it
 * with `noprune`, which deletes the image when that was its only name and leaves its parents
 * dangling; here it is removed only when the image keeps another name.
 * @module
 */
import { createDebug } from "../debug-logger.js";
import { CLEANUP_TIMEOUT_MS } from "../defaults.js";
import type { EngineConnection } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import { EngineHttpError } from "../errors.js";
import { parseImageReference } from "../reference/image-reference.js";

const debug = createDebug("prefect-dockerutils:push");

/** What the engine says about an image's names (`GET /images/{name}/json`). */
export interface ImageNames {
  readonly Id?: unknown;
  readonly RepoTags?: unknown;
  readonly RepoDigests?: unknown;
}

/** `repository:tag` or `repository@digest` normalised (`docker.io/library/...`), or undefined. */
function normalized(name: string): { repository: string; full: string } | undefined {
  try {
    const parsed = parseImageReference(name);
    const suffix = parsed.digest !== undefined ? `@${parsed.digest}` : `:${parsed.tag ?? "latest"}`;
    return { repository: parsed.normalizedName, full: `${parsed.normalizedName}${suffix}` };
  } catch {
    return undefined;
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === "string")
    : [];
}

/**
 * Whether the image keeps a name when the tag `reference` is removed: another tag, or a digest of
 * another repository (the engine drops the tag's own repository's digests with its last tag). A
 * name that cannot be read does not count: when unsure, nothing is deleted.
 */
export function keepsAnotherName(image: ImageNames, reference: string): boolean {
  const own = normalized(reference);
  if (own === undefined) return false;
  const otherTag = strings(image.RepoTags).some((tag) => {
    const name = normalized(tag);
    return name !== undefined && name.full !== own.full;
  });
  const otherDigest = strings(image.RepoDigests).some((digest) => {
    const name = normalized(digest);
    return name !== undefined && name.repository !== own.repository;
  });
  return otherTag || otherDigest;
}

/**
 * The names of the image `reference` points at, or `undefined` for none. Without `signal`,
 * bounded by the cleanup timeout: it runs after an aborted push too.
 */
export async function imageNames(
  engine: EngineConnection,
  reference: string,
  signal?: AbortSignal,
): Promise<ImageNames | undefined> {
  try {
    const answer = await engine.requestJson({
      method: "GET",
      path: enginePath`/images/${reference}/json`,
      signal: signal ?? AbortSignal.timeout(CLEANUP_TIMEOUT_MS),
    });
    return typeof answer === "object" && answer !== null ? (answer as ImageNames) : undefined;
  } catch (error) {
    if (error instanceof EngineHttpError && error.statusCode === 404) return undefined;
    throw error;
  }
}

// Releases run one at a time: two pushes of an image with no other name would each take the
// other's registry tag for that name, and both removals together would delete the image.
let releasing: Promise<void> = Promise.resolve();

function oneAtATime(task: () => Promise<void>): Promise<void> {
  const next = releasing.then(task, task);
  releasing = next.catch(() => undefined);
  return next;
}

/**
 * After a push, however it ended: removes the registry tag `reference` only when it is the push's
 * own (`before`: the ID it named before the push) and the image keeps another name. Never throws;
 * a failure is logged and the tag stays.
 */
export async function releaseRegistryTag(
  engine: EngineConnection,
  reference: string,
  before: string | undefined,
): Promise<void> {
  await oneAtATime(async () => {
    const image = await imageNames(engine, reference);
    if (typeof image?.Id !== "string") return;
    if (image.Id === before) {
      debug("keeping %s: the image had that name before the push", reference);
      return;
    }
    if (!keepsAnotherName(image, reference)) {
      debug(
        "keeping %s: it is the image's only name; removing it would delete the image",
        reference,
      );
      return;
    }
    // Without noprune: should the other name vanish meanwhile, the engine deletes the image
    // with its untagged parents instead of leaving them dangling.
    await engine.requestJson({
      method: "DELETE",
      path: enginePath`/images/${reference}`,
      signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS),
    });
  }).catch((error: unknown) => {
    debug("could not release %s: %s", reference, (error as Error).message);
  });
}
