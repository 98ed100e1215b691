/**
 * Where a build's Dockerfile is, decided the same way for both builders before anything is sent:
 * inside the context (its real path, which must stay inside), added to it by an overlay, or
 * outside it (an absolute path, or one that climbs out with `..`). A Dockerfile named inside the
 * context but reached through a symlink that leaves it is refused, so no byte of a file outside
 * the context is read through a link.
 * @module
 */
import path from "node:path";
import { BuildContextError, DockerfileNotFoundError } from "../errors.js";
import { type BuildContextFs, describe, isMissing } from "./context-fs.js";
import { type OverlayNode, overlaySource } from "./overlay-tree.js";

/** Where the Dockerfile is. */
export type DockerfileLocation =
  /** A regular file whose real path is inside the context. */
  | {
      readonly kind: "inside";
      /** The path as given, resolved against the context folder as given. */
      readonly given: string;
      /** Its real path. */
      readonly real: string;
      /** Its real path relative to the real context folder, `/`-separated. */
      readonly name: string;
    }
  /** Provided by an overlay at `name`, which wins over the context's own files. */
  | { readonly kind: "overlay"; readonly given: string; readonly name: string }
  /** Named outside the context: read from its real path, `real`. */
  | { readonly kind: "outside"; readonly given: string; readonly real: string };

/** Whether `relative` (from `path.relative`) names something strictly inside its base. */
export function isInside(relative: string): boolean {
  return (
    relative !== "" &&
    relative !== ".." &&
    !relative.startsWith(`..${path.sep}`) &&
    !path.isAbsolute(relative)
  );
}

function toPosix(relative: string): string {
  return relative.split(path.sep).join("/");
}

/** Checks that the Dockerfile at `file` (followed) is a regular file. */
function checkRegular(fs: BuildContextFs, file: string, given: string): void {
  const stats = fs.statSync(file);
  if (stats.isDirectory()) {
    throw new BuildContextError(
      `the Dockerfile ${given} is a folder; give the path of the Dockerfile itself`,
      given,
    );
  }
  if (!stats.isFile()) {
    throw new BuildContextError(`the Dockerfile ${given} is not a regular file`, given);
  }
}

/** The error for a Dockerfile that is not there. */
export function dockerfileNotFound(
  given: string,
  root: string,
  cause?: unknown,
): DockerfileNotFoundError {
  return new DockerfileNotFoundError(
    `cannot find the Dockerfile ${given}: it is neither in the build context ${root} nor added to it; check the path, or create the file`,
    given,
    { cause },
  );
}

/**
 * Finds the Dockerfile `option` (relative to the context folder `dir`, or absolute) of the
 * context whose real path is `root`. Without `option`, `Dockerfile`, else a lower-case
 * `dockerfile` when only that exists, as the Docker CLI does.
 *
 * @throws DockerfileNotFoundError when it does not exist; BuildContextError when it is a folder,
 *   not a regular file, cannot be resolved, or is named inside the context but leads out of it
 *   through a symlink.
 */
export function locateDockerfile(
  fs: BuildContextFs,
  dir: string,
  root: string,
  option: string | undefined,
): Exclude<DockerfileLocation, { kind: "overlay" }>;
export function locateDockerfile(
  fs: BuildContextFs,
  dir: string,
  root: string,
  option: string | undefined,
  overlays: OverlayNode,
): DockerfileLocation;
export function locateDockerfile(
  fs: BuildContextFs,
  dir: string,
  root: string,
  option: string | undefined,
  overlays?: OverlayNode,
): DockerfileLocation {
  const base = path.resolve(dir);
  const provided = (file: string) => {
    const relative = path.relative(base, file);
    return (
      overlays !== undefined &&
      isInside(relative) &&
      overlaySource(overlays, toPosix(relative)) !== undefined
    );
  };
  const exists = (file: string) => {
    try {
      fs.lstatSync(file);
      return true;
    } catch {
      return provided(file);
    }
  };
  let given = path.resolve(dir, option ?? "Dockerfile");
  if (option === undefined) {
    const lower = path.resolve(dir, "dockerfile");
    if (!exists(given) && exists(lower)) given = lower;
  }
  const lexical = path.relative(base, given);
  if (overlays !== undefined && isInside(lexical)) {
    // Overlays win over the context's own files, so they are asked first.
    const name = toPosix(lexical);
    const source = overlaySource(overlays, name);
    if (source !== undefined) {
      if ("hostPath" in source) {
        let isFolder: boolean;
        try {
          isFolder = fs.lstatSync(source.hostPath).isDirectory();
        } catch (error) {
          throw dockerfileNotFound(given, root, error);
        }
        if (isFolder) checkRegular(fs, source.hostPath, given);
      }
      return { kind: "overlay", given, name };
    }
  }
  let real: string;
  try {
    real = fs.realpathSync(given);
  } catch (error) {
    if (isMissing(error)) throw dockerfileNotFound(given, root, error);
    throw new BuildContextError(
      `cannot resolve the Dockerfile ${given}: ${describe(error)}`,
      given,
      {
        cause: error,
      },
    );
  }
  const relative = path.relative(root, real);
  if (isInside(relative)) {
    checkRegular(fs, real, given);
    return { kind: "inside", given, real, name: toPosix(relative) };
  }
  if (isInside(lexical)) {
    // Named inside the context but a symlink on the way leads out: nothing of it is read.
    throw new BuildContextError(
      `the Dockerfile ${given} leads outside the build context ${root} through a symlink (to ${real}); files outside the context are not read through links: pass the real path as the dockerfile, or copy it into the context`,
      given,
    );
  }
  return { kind: "outside", given, real };
}
