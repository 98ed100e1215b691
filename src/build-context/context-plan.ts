import path from "node:path";
import { BuildContextError } from "../errors.js";
import { crypto } from "../lazy-builtins.js";
import { type BuildContextFs, describe } from "./context-fs.js";
import { readControlFile } from "./control-file.js";
import { dockerfileNotFound, locateDockerfile } from "./dockerfile-location.js";
import { parseDockerignore } from "./dockerignore.js";
import { ignoreMatcher, readIgnoreFile } from "./ignore-file.js";
import { type BuildContextOverlay, type ContextFile, overlayTree } from "./overlay-tree.js";

/** What {@link planContext} decided. */
export interface ContextPlan {
  /** The context directory, absolute and real. */
  readonly root: string;
  /** The Dockerfile's name inside the tar. */
  readonly dockerfile: string;
  readonly excludes: readonly string[];
  /** Sent even when excluded: the Dockerfile and `.dockerignore`, which the engine needs. */
  readonly alwaysInclude: readonly string[];
  /** Files made in memory: an outside Dockerfile and the `.dockerignore` that hides it. */
  readonly files: readonly ContextFile[];
}

/** Options of {@link planContext}. */
export interface PlanContextOptions {
  readonly dockerfile?: string | undefined;
  readonly overlays: readonly BuildContextOverlay[];
  readonly fs: BuildContextFs;
}

/**
 * Plans the build context of `dir`: every check that can fail without reading the whole context
 * fails here, before the first byte is sent.
 * @throws DockerfileNotFoundError when the Dockerfile does not exist; BuildContextError when
 *   the context, the Dockerfile, an overlay or `.dockerignore` cannot be used; InvalidArgumentError
 *   for a bad overlay path.
 */
export function planContext(dir: string, options: PlanContextOptions): ContextPlan {
  const { fs } = options;
  let root: string;
  try {
    root = fs.realpathSync(path.resolve(dir));
    if (!fs.statSync(root).isDirectory()) {
      throw new BuildContextError(`the build context ${dir} is not a folder`, path.resolve(dir));
    }
  } catch (error) {
    if (error instanceof BuildContextError) throw error;
    throw new BuildContextError(
      `cannot read the build context folder ${dir}: ${describe(error)}`,
      path.resolve(dir),
      { cause: error },
    );
  }
  const overlays = overlayTree(fs, options.overlays);
  const location = locateDockerfile(fs, dir, root, options.dockerfile, overlays);
  let name: string;
  let outside: ContextFile | undefined;
  if (location.kind === "outside") {
    const content = readControlFile(fs, location.real, "Dockerfile");
    if (content === undefined) throw dockerfileNotFound(location.given, root);
    // The CLI uses a random name; a content hash is as unlikely to collide and keeps the tar stable.
    name = `.dockerfile.${crypto().createHash("sha256").update(content).digest("hex").slice(0, 20)}`;
    outside = { path: name, content, mode: 0o600, origin: location.real };
  } else {
    name = location.name;
  }
  const specificFile = `${location.given}.dockerignore`;
  const rootIgnoreFile = path.join(root, ".dockerignore");
  // A symlinked `<Dockerfile>.dockerignore` may lead into an outside Dockerfile's folder.
  const roots = outside?.origin ? [root, path.dirname(outside.origin)] : [root];
  const specific = readIgnoreFile(fs, specificFile, roots);
  const rootIgnore = readIgnoreFile(fs, rootIgnoreFile, [root]);
  const excludes = parseDockerignore((specific ?? rootIgnore)?.text ?? "");
  ignoreMatcher(excludes, specific === undefined ? rootIgnoreFile : specificFile);
  const files: ContextFile[] = [];
  if (outside !== undefined) {
    const now = Math.floor(Date.now() / 1000);
    files.push({ ...outside, mtime: now });
    // As the CLI does: list the generated name in .dockerignore so the engine keeps it out of
    // COPY. A symlinked .dockerignore is replaced without its target's text (the CLI fails there
    // with "archive/tar: write too long").
    const own = rootIgnore !== undefined && !rootIgnore.link ? rootIgnore : undefined;
    files.push({
      path: ".dockerignore",
      content: Buffer.from(`${own?.text ?? ".dockerignore"}\n${name}\n`),
      mode: own?.mode ?? 0o600,
      mtime: own?.mtime ?? now,
    });
  }
  return { root, dockerfile: name, excludes, alwaysInclude: [name, ".dockerignore"], files };
}
