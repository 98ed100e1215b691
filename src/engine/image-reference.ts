/**
 * Checks of the caller strings that become Engine API path segments and query values: image IDs,
 * repository names and tags. Each names the argument, shows (a bounded part of) the bad value and
 * says what to pass instead, before any request is made.
 * @module
 */
import { MAX_IMAGE_REFERENCE_CHARS } from "../defaults.js";
import { InvalidArgumentError } from "../errors.js";
import { parseReference } from "../reference/image-reference.js";

const FULL_ID = /^sha256:[0-9a-f]{64}$/;
const SHORT_ID = /^[0-9a-f]{12,64}$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** A caller's string as messages show it: JSON, at most 100 characters of it. */
function shown(value: unknown): string {
  if (typeof value !== "string") return value === undefined ? "undefined" : `a ${typeof value}`;
  if (value.length <= 100) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, 100))}... (${value.length} characters)`;
}

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
    const parts = parseReference(value);
    if (parts && isLowerCasePath(parts.name)) return value;
  }
  throw new InvalidArgumentError(
    `${what} must be an image ID ("sha256:" and 64 hex digits, or 12 to 64 hex digits) or an image reference such as "my-image:1" or "ghcr.io/team/app", got ${shown(value)}`,
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
      `name must be a repository name such as "my-image" or "team/my-image", got ${shown(name)}`,
    );
  }
  const full = `${host}/${name}`;
  const parts = name.length <= MAX_IMAGE_REFERENCE_CHARS ? parseReference(full) : undefined;
  if (!parts) {
    if (parseReference(full.toLowerCase()) && name !== name.toLowerCase()) {
      throw new InvalidArgumentError(
        `name ${shown(name)} must be lower-case: use ${JSON.stringify(name.toLowerCase())}`,
      );
    }
    throw new InvalidArgumentError(
      `name ${shown(name)} is not a repository name; use lower-case letters and digits, separated by ".", "_", "__" or "-", in components joined by "/", such as "my-image" or "team/my-image"`,
    );
  }
  if (parts.digest !== undefined) {
    throw new InvalidArgumentError(
      `name ${shown(name)} holds a digest; pass only the repository, such as "team/my-image" (a push makes its own digest)`,
    );
  }
  if (parts.tag !== undefined) {
    const repository = parts.name.slice(host.length + 1);
    throw new InvalidArgumentError(
      `name ${shown(name)} holds a tag; pass the repository as name and the tag as options.tag: pushImage(imageId, registryUrl, ${JSON.stringify(repository)}, { tag: ${JSON.stringify(parts.tag)} })`,
    );
  }
  return name;
}

/** Whether `tag` is a tag: a letter, digit or `_`, then up to 127 letters, digits, `_`, `.`, `-`. */
export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

/**
 * A tag: a letter, digit or `_`, then up to 127 letters, digits, `_`, `.` and `-`.
 *
 * @throws InvalidArgumentError naming `what`.
 */
export function checkTag(tag: unknown, what: string): string {
  if (typeof tag === "string" && isTag(tag)) return tag;
  throw new InvalidArgumentError(
    `${what} must be a tag: a letter, digit or "_", then up to 127 letters, digits, "_", "." or "-", such as "v1" or "2024-06-01"; got ${shown(tag)}`,
  );
}

/** The engine refuses upper case anywhere in a repository path (the domain may have it). */
function isLowerCasePath(name: string): boolean {
  const slash = name.indexOf("/");
  if (slash === -1) return name === name.toLowerCase();
  const first = name.slice(0, slash);
  const isDomain = /[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first;
  const path = isDomain ? name.slice(slash + 1) : name;
  return path === path.toLowerCase();
}
