/**
 * The path rules of `ImageBuilder`: which `copy()` sources are allowed, where they are read, what
 * they are called in the context, and which paths a Dockerfile line may hold.
 * @module
 */
import { lstatSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { isMissing } from "../build-context/context-fs.js";
import { BuildContextError, InvalidArgumentError } from "../errors.js";
import { purePosixPath } from "../python/pure-posix-path.js";
import { controlCharacter, show } from "../validate.js";

/** Where `copy(".")` puts the base directory: the context's root holds `writeText()` files. */
export const BASE_DIRECTORY_ENTRY = ".base-directory";

/** COPY treats these as wildcards in a source (Go's `filepath.Match`). */
const WILDCARDS = /[*?[]/;

/** A host file or folder `copy()` sends, and the source it was given as. */
export interface CopiedSource {
  readonly hostPath: string;
  readonly source: string;
  readonly applyDockerignore: boolean;
}

/**
 * The source as Prefect writes it in the COPY line: relative to `baseDirectory`, resolved
 * lexically; `"."` for the base directory itself.
 * @throws InvalidArgumentError for a source that is not a path or lies outside `baseDirectory`.
 */
export function relativeSource(baseDirectory: string, source: unknown, method: string): string {
  checkPath(method, "source", source);
  if (source === "") {
    throw new InvalidArgumentError(`${method}() source must be a path, got ""`);
  }
  const absolute = path.resolve(baseDirectory, source);
  let relative = inside(baseDirectory, absolute);
  if (relative === undefined && path.isAbsolute(source)) {
    // baseDirectory may be reached through a link itself (/tmp on macOS): an absolute source
    // under its real name is inside it too.
    relative = inside(realpathOr(baseDirectory), absolute);
  }
  if (relative === undefined) {
    throw new InvalidArgumentError(
      `${JSON.stringify(source)} is not in the subpath of ${JSON.stringify(baseDirectory)}; ` +
        "copy only files inside baseDirectory, or pass a baseDirectory that contains them",
    );
  }
  return relative === "" ? "." : relative.split(path.sep).join("/");
}

/**
 * The name `copy()` gives a source in the context.
 * @throws InvalidArgumentError for a source COPY would read as a wildcard, or one inside
 *   {@link BASE_DIRECTORY_ENTRY}.
 */
export function copyContextPath(source: string, relative: string): string {
  if (WILDCARDS.test(relative)) {
    throw new InvalidArgumentError(
      `Cannot copy ${show(source)}: COPY would read *, ? and [ in it as wildcards; copy the folder that holds it instead`,
    );
  }
  if (relative.split("/")[0] === BASE_DIRECTORY_ENTRY) {
    throw new InvalidArgumentError(
      `Cannot copy ${show(source)}: ${BASE_DIRECTORY_ENTRY} is where copy(".") puts the base directory; copy its parent folder or rename it`,
    );
  }
  return relative === "." ? BASE_DIRECTORY_ENTRY : relative;
}

/**
 * Where `copy()` reads `relative` from: its parents resolved under the real base directory, its
 * last component never followed.
 * @throws InvalidArgumentError for a source that is missing, unreadable or reached through a
 *   link leaving the base directory.
 */
export function copyHostPath(baseDirectory: string, source: string, relative: string): string {
  const missing = (what: string, cause: unknown) =>
    new InvalidArgumentError(
      `Cannot copy ${show(source)}: ${what} ${isMissing(cause) ? "does not exist" : `cannot be read (${describe(cause)})`}`,
      { cause },
    );
  let base: string;
  try {
    base = realpathSync(baseDirectory);
  } catch (cause) {
    throw missing(`baseDirectory ${baseDirectory}`, cause);
  }
  if (relative === ".") {
    if (!statSync(base).isDirectory()) {
      throw new InvalidArgumentError(
        `Cannot copy ".": baseDirectory ${baseDirectory} is not a folder`,
      );
    }
    return base;
  }
  const parent = path.posix.dirname(relative);
  let realParent = base;
  if (parent !== ".") {
    const lexical = path.join(baseDirectory, parent);
    try {
      realParent = realpathSync(path.join(base, parent));
    } catch (cause) {
      throw missing(lexical, cause);
    }
    if (inside(base, realParent) === undefined) {
      throw new InvalidArgumentError(
        `Cannot copy ${show(source)}: ${lexical} leads through a symlink to ${realParent}, outside baseDirectory ${baseDirectory}; only files inside baseDirectory are sent`,
      );
    }
  }
  const hostPath = path.join(realParent, path.posix.basename(relative));
  try {
    lstatSync(hostPath);
  } catch (cause) {
    throw missing(path.join(baseDirectory, relative), cause);
  }
  return hostPath;
}

/** A user's `context`: an existing folder with no Dockerfile (Prefect's rule). */
export function checkContextFolder(context: string): string {
  const absolute = path.resolve(context);
  let isFolder: boolean;
  try {
    isFolder = statSync(absolute).isDirectory();
  } catch (cause) {
    throw new InvalidArgumentError(
      `context ${JSON.stringify(context)} (${absolute}) ${isMissing(cause) ? "does not exist" : `cannot be read (${describe(cause)})`}; pass an existing folder, or no context for a temporary one`,
      { cause },
    );
  }
  if (!isFolder) {
    throw new InvalidArgumentError(
      `context ${JSON.stringify(context)} (${absolute}) is not a folder; pass a folder, or no context for a temporary one`,
    );
  }
  let hasDockerfile = true;
  try {
    lstatSync(path.join(absolute, "Dockerfile"));
  } catch {
    hasDockerfile = false;
  }
  if (hasDockerfile) throw new InvalidArgumentError(`There is already a Dockerfile at ${context}`);
  return absolute;
}

/** A path a Dockerfile line will hold: a well-formed string without control characters. */
export function checkPath(method: string, role: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new InvalidArgumentError(`${method}() ${role} must be a string, got ${show(value)}`);
  }
  const control = controlCharacter(value);
  if (control !== undefined) {
    throw new InvalidArgumentError(
      `${method}() ${role} must not contain control characters (found ${control}): they would end the Dockerfile line; got ${JSON.stringify(value)}`,
    );
  }
  // With the u flag, a surrogate pair is one code point: this matches lone surrogates only.
  if (/[\uD800-\uDFFF]/u.test(value)) {
    throw new InvalidArgumentError(
      `${method}() ${role} must be well-formed Unicode (it has a lone surrogate), got ${JSON.stringify(value)}`,
    );
  }
}

/** A destination in the image, checked and written as Python's `PurePosixPath` writes it. */
export function containerPath(method: string, role: string, value: unknown): string {
  checkPath(method, role, value);
  return purePosixPath(value);
}

/** A build failure about a copied file, told in terms of the `copy()` call. */
export function describeCopyFailure(
  error: unknown,
  copies: readonly (readonly [string, CopiedSource])[],
): unknown {
  if (!(error instanceof BuildContextError)) return error;
  const copy = copies.find(([, { hostPath }]) => hostPath === error.path)?.[1];
  if (copy === undefined) return error;
  const cause = error.cause;
  const reason = isMissing(cause)
    ? "it no longer exists"
    : cause instanceof Error
      ? describe(cause)
      : error.message;
  return new BuildContextError(
    `Cannot send ${show(copy.source)} given to copy(): ${copy.hostPath}: ${reason}`,
    copy.hostPath,
    { cause: error },
  );
}

/** `target` relative to `base` ("" for `base` itself), or `undefined` when it is outside. */
function inside(base: string, target: string): string | undefined {
  const relative = path.relative(base, target);
  if (relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    return undefined;
  }
  return relative;
}

/** A file system error as messages show it: its code, else its message. */
function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}

function realpathOr(value: string): string {
  try {
    return realpathSync(value);
  } catch {
    return value;
  }
}
