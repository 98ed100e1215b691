/**
 * Checks of the caller strings that become Engine API path segments and query values: image IDs,
 * repository names and tags. Each names the argument, shows (a bounded part of) the bad value and
 * says what to pass instead, before any request is made.
 * @module
 */
import { MAX_IMAGE_REFERENCE_CHARS } from "../defaults.js";
import { InvalidArgumentError } from "../errors.js";
import { parseReference } from "../reference/image-reference.js";
import { isTag } from "../reference/reference-grammar.js";
import { show } from "../validate.js";

const FULL_ID = /^sha256:[0-9a-f]{64}$/;
const SHORT_ID = /^[0-9a-f]{12,64}$/;

/**
 * An image the engine should act on: a full ID (`sha256:` and 64 hex digits), an ID prefix of 12
 * to 64 hex digits, or an image reference (`busybox`, `team/app:1`, `ghcr.io/a/b@sha256:...`).
 *
 * @param what - the argument's name for the message, e.g. `imageId`.
 * @throws InvalidArgumentError for anything else: it could not name an image, and as a path
 *   segment it could only reach somewhere else.
 */
export function checkImageId(value: unknown, what: string): string {
  if (typeof value === "string" && value.length <= MAX_IMAGE_REFERENCE_CHARS) {
    if (FULL_ID.test(value) || SHORT_ID.test(value)) return value;
    // The grammar's path components are lower-case: what it accepts, the engine does.
    if (parseReference(value)) return value;
  }
  throw new InvalidArgumentError(
    `${what} must be an image ID ("sha256:" and 64 hex digits, or 12 to 64 hex digits) or an image reference such as "my-image:1" or "ghcr.io/team/app", got ${show(value)}`,
  );
}

/**
 * A repository name to push to, e.g. `team/app`, checked as part of `<registry host>/<name>`.
 * A tag or digest in it is refused with a message saying where the tag goes.
 *
 * @param host - the registry host the name will be put under, e.g. `127.0.0.1:5000`.
 * @throws InvalidArgumentError naming `name` and what to pass instead.
 */
export function checkRepositoryName(name: unknown, host: string): string {
  if (typeof name !== "string" || name === "") {
    throw new InvalidArgumentError(
      `name must be a repository name such as "my-image" or "team/my-image", got ${show(name)}`,
    );
  }
  const full = `${host}/${name}`;
  const parts = name.length <= MAX_IMAGE_REFERENCE_CHARS ? parseReference(full) : undefined;
  if (!parts) {
    if (parseReference(full.toLowerCase()) && name !== name.toLowerCase()) {
      throw new InvalidArgumentError(
        `name ${show(name)} must be lower-case: use ${JSON.stringify(name.toLowerCase())}`,
      );
    }
    throw new InvalidArgumentError(
      `name ${show(name)} is not a repository name; use lower-case letters and digits, separated by ".", "_", "__" or "-", in components joined by "/", such as "my-image" or "team/my-image"`,
    );
  }
  if (parts.digest !== undefined) {
    throw new InvalidArgumentError(
      `name ${show(name)} holds a digest; pass only the repository, such as "team/my-image" (a push makes its own digest)`,
    );
  }
  if (parts.tag !== undefined) {
    const repository = parts.name.slice(host.length + 1);
    throw new InvalidArgumentError(
      `name ${show(name)} holds a tag; pass the repository as name and the tag as options.tag: pushImage(imageId, registryUrl, ${JSON.stringify(repository)}, { tag: ${JSON.stringify(parts.tag)} })`,
    );
  }
  return name;
}

/**
 * A tag: a letter, digit or `_`, then up to 127 letters, digits, `_`, `.` and `-`.
 *
 * @throws InvalidArgumentError naming `what`.
 */
export function checkTag(tag: unknown, what: string): string {
  if (typeof tag === "string" && isTag(tag)) return tag;
  throw new InvalidArgumentError(
    `${what} must be a tag: a letter, digit or "_", then up to 127 letters, digits, "_", "." or "-", such as "v1" or "2024-06-01"; got ${show(tag)}`,
  );
}
