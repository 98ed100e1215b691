/**
 * Image references parsed and normalised as the docker CLI does with distribution/reference's
 * `ParseNormalizedNamed`, and the checks of caller strings that name images.
 * @module
 */
import { MAX_IMAGE_REFERENCE_CHARS } from "../defaults.js";
import { InvalidArgumentError } from "../errors.js";
import { show } from "../validate.js";
import {
  DIGEST_ALGORITHMS,
  digestProblem,
  isDomainAndPort,
  isIdentifier,
  isPathComponent,
  isTag,
  MAX_PATH_LENGTH,
  MAX_TAG_LENGTH,
} from "./reference-grammar.js";

/** An image reference split into its parts and normalised, by {@link parseImageReference}. */
export interface ImageReference {
  /** The registry host and port, e.g. `ghcr.io`; `docker.io` for Docker Hub (`index.docker.io`). */
  readonly registry: string;
  /** The repository path, e.g. `team/app`; official images get `library/` (`library/ubuntu`). */
  readonly path: string;
  /** The tag, e.g. `1.0`, or `undefined` when the reference has none (no `latest` is assumed). */
  readonly tag: string | undefined;
  /** The digest, e.g. `sha256:` and 64 hex digits, or `undefined` when the reference has none. */
  readonly digest: string | undefined;
  /** The short name the docker CLI shows, no tag or digest: `ubuntu`, `ghcr.io/team/app`. */
  readonly familiarName: string;
  /** `registry/path`, e.g. `docker.io/library/ubuntu`. No tag, no digest. */
  readonly normalizedName: string;
}

const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_PREFIX = "library/";
const FORMAT_HINT =
  'use [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST] with a lower-case repository, e.g. "ghcr.io/team/app:1"';

function invalid(reference: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`${show(reference)} is not a valid image reference: ${problem}`);
}

/**
 * Parses and normalises an image reference as the docker CLI does (`ParseNormalizedNamed`): the
 * first component is the registry when {@link isRegistryComponent}, else the image is on Docker
 * Hub and a single-component name gets `library/`. Linear in the length of `reference`.
 *
 * @throws InvalidArgumentError naming the offending part (empty or upper-case repository, bad
 *   host, tag or digest, a path over 255 characters, or a 64-hex-digit image ID).
 * @example
 * ```ts
 * parseImageReference("localhost:5000/foo/bar:v1");
 * // { registry: "localhost:5000", path: "foo/bar", tag: "v1", digest: undefined,
 * //   familiarName: "localhost:5000/foo/bar", normalizedName: "localhost:5000/foo/bar" }
 * ```
 */
export function parseImageReference(reference: string): ImageReference {
  if (typeof reference !== "string") {
    throw new InvalidArgumentError(
      `An image reference must be a string such as "ghcr.io/team/app:1", got ${typeof reference}`,
    );
  }
  if (reference === "") {
    throw new InvalidArgumentError(
      'An image reference is required (the repository name must have at least one component), e.g. "busybox" or "ghcr.io/team/app:1"',
    );
  }
  if (isIdentifier(reference)) {
    throw invalid(
      reference,
      'it is an image ID (64 hex digits), which cannot be a repository name; give it a registry, e.g. "docker.io/<name>", or use the ID itself where an ID is accepted',
    );
  }

  const { name, tag, digest } = splitReference(reference);
  const { registry, path } = splitRegistry(reference, name);

  if (path.toLowerCase() !== path) {
    const written = name.includes("/") ? path : name;
    throw invalid(reference, `the repository name ${show(written)} must be lower-case`);
  }
  const components = path.split("/");
  for (const component of components) {
    if (component === "") {
      throw invalid(
        reference,
        `the repository name ${show(path)} has an empty path component (a leading, trailing or doubled "/"); ${FORMAT_HINT}`,
      );
    }
    if (!isPathComponent(component)) {
      throw invalid(
        reference,
        `the path component ${show(component)} is not allowed: components are lower-case letters and digits, separated inside by ".", "_", "__" or dashes; ${FORMAT_HINT}`,
      );
    }
  }
  if (tag !== undefined && !isTag(tag)) {
    throw invalid(
      reference,
      `the tag ${show(tag)} is not valid: a tag is 1 to ${MAX_TAG_LENGTH} letters, digits, "_", "." and "-", not starting with "." or "-"`,
    );
  }
  if (digest !== undefined) checkDigest(reference, digest);
  if (path.length > MAX_PATH_LENGTH) {
    throw invalid(
      reference,
      `the repository name is too long: ${path.length} characters, at most ${MAX_PATH_LENGTH} are allowed`,
    );
  }

  return {
    registry,
    path,
    tag,
    digest,
    familiarName: familiarName(registry, path),
    normalizedName: `${registry}/${path}`,
  };
}

/** Splits a reference into name, tag and digest, as written and unchecked. */
function splitReference(text: string): ReferenceParts {
  // Neither tag nor name contains "@", so the first one starts the digest.
  const at = text.indexOf("@");
  const beforeDigest = at === -1 ? text : text.slice(0, at);
  // A ":" after the last "/" can only start the tag: inside a name, ":" belongs to the
  // registry's port, which a "/" always follows.
  const lastColon = beforeDigest.lastIndexOf(":");
  const hasTag = lastColon > beforeDigest.lastIndexOf("/");
  return {
    name: hasTag ? beforeDigest.slice(0, lastColon) : beforeDigest,
    tag: hasTag ? beforeDigest.slice(lastColon + 1) : undefined,
    digest: at === -1 ? undefined : text.slice(at + 1),
  };
}

/**
 * Whether the first component of a name is a registry host rather than part of a Docker Hub path,
 * as `splitDockerDomain` decides: it contains `.` or `:`, is `localhost`, or has upper case.
 */
export function isRegistryComponent(first: string): boolean {
  return first === "localhost" || /[.:]/.test(first) || first.toLowerCase() !== first;
}

/** Splits a name (no tag, no digest) into registry and path as `splitDockerDomain` does. */
function splitRegistry(reference: string, name: string): { registry: string; path: string } {
  const slash = name.indexOf("/");
  if (slash === -1) {
    if (name === "") {
      throw invalid(reference, `the repository name is empty; ${FORMAT_HINT}`);
    }
    return { registry: DEFAULT_DOMAIN, path: OFFICIAL_PREFIX + name };
  }
  const first = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  if (!isRegistryComponent(first)) {
    return { registry: DEFAULT_DOMAIN, path: name };
  }
  if (!isDomainAndPort(first)) {
    // distribution/reference reads "foo_bar.com/x" as a path on no registry; nothing can reach
    // that, so it is refused.
    throw invalid(
      reference,
      `the registry ${show(first)} is not a valid host[:port] (letters, digits and inner "-" in dot-separated labels, or an IPv6 address in brackets, then an optional numeric port); ${FORMAT_HINT}`,
    );
  }
  const registry = first === LEGACY_DEFAULT_DOMAIN ? DEFAULT_DOMAIN : first;
  const path = registry === DEFAULT_DOMAIN && !rest.includes("/") ? OFFICIAL_PREFIX + rest : rest;
  return { registry, path };
}

function checkDigest(reference: string, digest: string): void {
  const problem = digestProblem(digest);
  if (problem === "format") {
    throw invalid(
      reference,
      `the digest ${show(digest)} is not valid: a digest is an algorithm, ":" and at least 32 hex digits, e.g. "sha256:" and 64 hex digits`,
    );
  }
  if (problem === "algorithm") {
    throw invalid(
      reference,
      `the digest algorithm of ${show(digest)} is not supported; use ${[...DIGEST_ALGORITHMS.keys()].join(" or ")}`,
    );
  }
  if (problem === "length") {
    const algorithm = digest.slice(0, digest.indexOf(":"));
    throw invalid(
      reference,
      `the digest ${show(digest)} is not valid: a ${algorithm} digest has exactly ${DIGEST_ALGORITHMS.get(algorithm)} lower-case hex digits`,
    );
  }
}

/** `familiarizeName`: Docker Hub names lose `docker.io/`, and official images `library/`. */
function familiarName(registry: string, path: string): string {
  if (registry !== DEFAULT_DOMAIN) return `${registry}/${path}`;
  if (path.startsWith(OFFICIAL_PREFIX)) {
    const remainder = path.slice(OFFICIAL_PREFIX.length);
    if (!remainder.includes("/")) return remainder;
  }
  return path;
}

/**
 * The registry host of an image reference as the docker CLI decides it: the `registry` of
 * {@link parseImageReference}.
 *
 * @throws InvalidArgumentError for a string that is not an image reference.
 * @example
 * ```ts
 * registryOfImage("busybox");          // "docker.io"
 * registryOfImage("localhost:5000/x"); // "localhost:5000"
 * ```
 */
export function registryOfImage(reference: string): string {
  return parseImageReference(reference).registry;
}

/** The parts of an image reference as written, as {@link parseReference} splits it. */
export interface ReferenceParts {
  /** `[domain/]path` as written, e.g. `ghcr.io/team/app` or `busybox` (no normalising). */
  readonly name: string;
  /** The tag, without `:`. */
  readonly tag: string | undefined;
  /** The digest, e.g. `sha256:...`, as written. */
  readonly digest: string | undefined;
}

/**
 * Splits `text` by the grammar alone, as distribution/reference's `Parse` does (no Docker Hub
 * normalising, any well-formed digest algorithm), or `undefined` when it is no reference.
 * Linear in the length of `text`.
 */
export function parseReference(text: string): ReferenceParts | undefined {
  if (typeof text !== "string" || text === "") return undefined;
  const { name, tag, digest } = splitReference(text);
  if (tag !== undefined && !isTag(tag)) return undefined;
  if (digest !== undefined && digestProblem(digest) === "format") return undefined;
  const path = pathOfName(name);
  if (path === undefined || path.length > MAX_PATH_LENGTH) return undefined;
  return { name, tag, digest };
}

/** The path of a name: after a host when the rest is a path, else the name, or `undefined`. */
function pathOfName(name: string): string | undefined {
  const slash = name.indexOf("/");
  if (slash !== -1) {
    const rest = name.slice(slash + 1);
    if (isDomainAndPort(name.slice(0, slash)) && isPath(rest)) return rest;
  }
  return isPath(name) ? name : undefined;
}

function isPath(text: string): boolean {
  return text.split("/").every(isPathComponent);
}

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
 *
 * @param host - the registry host the name will be put under, e.g. `127.0.0.1:5000`.
 * @throws InvalidArgumentError naming `name` and what to pass instead (a tag goes in
 *   `options.tag`).
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
