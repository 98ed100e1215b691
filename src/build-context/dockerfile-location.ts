import path from "node:path";
import { BuildContextError, DockerfileNotFoundError } from "../errors.js";
import { type BuildContextFs, describe, isInside, isMissing } from "./context-fs.js";
import { type OverlayNode, overlaySource } from "./overlay-tree.js";

/**
 * Where the Dockerfile is: `given` is the path as given, resolved against the context folder;
 * `real` its real path; `name` its `/`-separated name in the context (an overlay's wins).
 */
export type DockerfileLocation =
  | {
      readonly kind: "inside";
      readonly given: string;
      readonly real: string;
      readonly name: string;
    }
  | { readonly kind: "overlay"; readonly given: string; readonly name: string }
  | { readonly kind: "outside"; readonly given: string; readonly real: string };

function toPosix(relative: string): string {
  return relative.split(path.sep).join("/");
}

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
 * context whose real path is `root`; overlays win over the context's own files. Without
 * `option`, `Dockerfile`, else a lower-case `dockerfile` when only that exists, as the Docker
 * CLI does. A Dockerfile named inside the context but reached through a symlink that leaves it
 * is refused, so nothing outside the context is read through a link.
 * @throws DockerfileNotFoundError when it does not exist; BuildContextError when it is a folder,
 *   not a regular file, cannot be resolved, or leads out of the context through a symlink.
 */
export function locateDockerfile(
  fs: BuildContextFs,
  dir: string,
  root: string,
  option: string | undefined,
  overlays: OverlayNode,
): DockerfileLocation {
  const base = path.resolve(dir);
  const provided = (file: string) => {
    const relative = path.relative(base, file);
    return isInside(relative) && overlaySource(overlays, toPosix(relative)) !== undefined;
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
  if (isInside(lexical)) {
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
