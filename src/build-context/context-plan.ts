/**
 * Everything decided before the first byte of a classic build context is sent: the context
 * root, where the Dockerfile is and what it is called in the tar, the `.dockerignore` patterns,
 * and the files made in memory (a Dockerfile from outside the context and the `.dockerignore`
 * that hides it). Every check that can fail without reading the whole context fails here.
 * @module
 */
import path from "node:path";
import { BuildContextError } from "../errors.js";
import { crypto } from "../lazy-builtins.js";
import { type BuildContextFs, describe } from "./context-fs.js";
import { readControlFile } from "./control-file.js";
import { dockerfileNotFound, locateDockerfile } from "./dockerfile-location.js";
import { PatternMatcher, parseDockerignore } from "./dockerignore.js";
import { readIgnoreFile } from "./ignore-file.js";
import { type BuildContextOverlay, type ContextFile, overlayTree } from "./overlay-tree.js";

/** What {@link planContext} decided. */
export interface ContextPlan {
  /** The context directory, absolute and real. */
  readonly root: string;
  /** The Dockerfile's name inside the tar. */
  readonly dockerfile: string;
  /** The `.dockerignore` patterns. */
  readonly excludes: readonly string[];
  /** Sent even when excluded: the Dockerfile and `.dockerignore`, which the engine needs. */
  readonly alwaysInclude: readonly string[];
  /** Files made in memory. */
  readonly files: readonly ContextFile[];
}

interface Dockerfile {
  readonly name: string;
  /** Where to look for `<Dockerfile>.dockerignore`. */
  readonly ignoreFile: string;
  /** Folders a `.dockerignore` symlink may lead into. */
  readonly ignoreRoots: readonly string[];
  /** Set when the Dockerfile lives outside the context and must be added to the tar. */
  readonly outside?: { readonly content: Buffer; readonly source: string };
}

function resolveDockerfile(
  fs: BuildContextFs,
  dir: string,
  root: string,
  option: string | undefined,
  overlays: ReturnType<typeof overlayTree>,
): Dockerfile {
  const location = locateDockerfile(fs, dir, root, option, overlays);
  const ignoreFile = `${location.given}.dockerignore`;
  if (location.kind !== "outside") {
    return { name: location.name, ignoreFile, ignoreRoots: [root] };
  }
  const { given, real } = location;
  const content = readControlFile(fs, real, "Dockerfile");
  if (content === undefined) throw dockerfileNotFound(given, root);
  // The CLI uses a random name; a content hash is as unlikely to collide and keeps the tar stable.
  const name = `.dockerfile.${crypto().createHash("sha256").update(content).digest("hex").slice(0, 20)}`;
  return {
    name,
    ignoreFile,
    ignoreRoots: [root, path.dirname(real)],
    outside: { content, source: real },
  };
}

/** Options of {@link planContext}. */
export interface PlanContextOptions {
  readonly dockerfile?: string | undefined;
  readonly overlays: readonly BuildContextOverlay[];
  readonly fs: BuildContextFs;
}

/**
 * Plans the classic build context of `dir`.
 * @throws DockerfileNotFoundError when the Dockerfile does not exist; BuildContextError when
 *   the context, the Dockerfile, an overlay or `.dockerignore` cannot be used (missing,
 *   unreadable, a link out of the context, not a regular file, too big, invalid patterns);
 *   InvalidArgumentError for a bad overlay path.
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
  const dockerfile = resolveDockerfile(fs, dir, root, options.dockerfile, overlays);
  const rootIgnoreFile = path.join(root, ".dockerignore");
  const specific = readIgnoreFile(fs, dockerfile.ignoreFile, dockerfile.ignoreRoots);
  const rootIgnore = readIgnoreFile(fs, rootIgnoreFile, [root]);
  const used = specific ?? rootIgnore;
  const usedFile = specific === undefined ? rootIgnoreFile : dockerfile.ignoreFile;
  const excludes = parseDockerignore(used?.text ?? "");
  try {
    new PatternMatcher(excludes);
  } catch (error) {
    throw new BuildContextError(`invalid ${usedFile}: ${describe(error)}`, usedFile, {
      cause: error,
    });
  }
  const alwaysInclude = [dockerfile.name, ".dockerignore"];
  const files: ContextFile[] = [];
  if (dockerfile.outside !== undefined) {
    const { content, source } = dockerfile.outside;
    const now = Math.floor(Date.now() / 1000);
    files.push({ path: dockerfile.name, content, mode: 0o600, mtime: now, origin: source });
    // As the CLI does: list the generated name in .dockerignore so the engine keeps it out of
    // COPY. A .dockerignore that is a symlink is replaced, and its target's text is not sent
    // (the CLI fails there with "archive/tar: write too long").
    const own = rootIgnore !== undefined && !rootIgnore.link ? rootIgnore : undefined;
    files.push({
      path: ".dockerignore",
      content: Buffer.from(`${own?.text ?? ".dockerignore"}\n${dockerfile.name}\n`),
      mode: own?.mode ?? 0o600,
      mtime: own?.mtime ?? now,
    });
  }
  return { root, dockerfile: dockerfile.name, excludes, alwaysInclude, files };
}
