import nodeFs from "node:fs";
import { pipeline, type Readable } from "node:stream";
import { InvalidArgumentError } from "../errors.js";
import { zlib } from "../lazy-builtins.js";
import { booleanOption, functionOption, objectOption, signalOption } from "../validate.js";
import type { BuildContextFs } from "./context-fs.js";
import { planContext } from "./context-plan.js";
import { type ContextChunk, ContextStream } from "./context-stream.js";
import { ContextWalker } from "./context-walker.js";
import { type BuildContextOverlay, validateOverlays } from "./overlay-tree.js";
import type { TarHeader } from "./tar-header.js";
import { TarWriter } from "./tar-writer.js";

export type { BuildContextOverlay } from "./overlay-tree.js";

/** One entry of the tar stream, in the order it was sent: its tar header and where it came from. */
export interface BuildContextEntry extends TarHeader {
  /** The host path it was read from (an outside Dockerfile's path); absent for generated entries. */
  readonly source?: string | undefined;
}

/** Options of {@link createBuildContext}. */
export interface BuildContextOptions {
  /**
   * The Dockerfile, relative to the context directory or absolute. A Dockerfile outside the
   * context is sent under a generated name (`.dockerfile.<hash>`), as the Docker CLI does; use
   * the returned {@link BuildContext.dockerfile}. Inside the context it must exist (in the
   * folder or in an overlay): a missing one fails before anything is sent.
   * @default "Dockerfile" (or `dockerfile` when only that exists, as the Docker CLI does)
   */
  readonly dockerfile?: string;
  /**
   * Host files and folders added to the context as if they were in it. They win over real files
   * at the same path, later overlays win over earlier ones, and the context's `.dockerignore`
   * does not apply to them (a folder's own does, with `applyDockerignore`). A `hostPath` that is
   * a symlink is sent as that symlink.
   * @default []
   */
  readonly overlays?: readonly BuildContextOverlay[];
  /** Gzip the tar stream. The engine detects compression by itself. @default false */
  readonly gzip?: boolean;
  /** Aborts reading the context: the stream is destroyed with `signal.reason`. */
  readonly signal?: AbortSignal;
  /**
   * Called with every chunk of the uncompressed tar as it is queued: upload progress without a
   * `'data'` listener, which would start the stream flowing before it is piped. A hook that
   * throws destroys the stream with its error.
   * @default undefined
   */
  readonly onChunk?: (chunk: BuildContextChunk) => void;
  /** The file system functions to read with. @default node:fs */
  readonly fs?: BuildContextFs;
}

/** What {@link BuildContextOptions.onChunk} is told about each chunk. */
export type BuildContextChunk = ContextChunk;

/** A build context ready to send to the engine. */
export interface BuildContext {
  /** The tar stream. Destroy it if it is never consumed. */
  readonly stream: Readable;
  /** The Dockerfile's name inside the tar, to pass to the engine as `dockerfile`. */
  readonly dockerfile: string;
  /** Every entry sent, in order, once the stream has ended; rejects with the stream's error. */
  readonly entries: Promise<readonly BuildContextEntry[]>;
}

/** The one pass over `createBuildContext`'s arguments, before any I/O: checked, defaults filled. */
function normalizeBuildContextOptions(dir: unknown, options: BuildContextOptions) {
  if (typeof dir !== "string" || dir === "") {
    throw new InvalidArgumentError(
      `the context directory must be a non-empty path, got ${JSON.stringify(dir)}`,
    );
  }
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(
      `createBuildContext options must be an object, got ${JSON.stringify(options)}`,
    );
  }
  const { dockerfile, overlays = [] } = options;
  if (dockerfile !== undefined && (typeof dockerfile !== "string" || dockerfile === "")) {
    throw new InvalidArgumentError(
      `dockerfile must be a non-empty path relative to the context or absolute, got ${JSON.stringify(dockerfile)}`,
    );
  }
  validateOverlays(overlays);
  return {
    dockerfile,
    overlays,
    gzip: booleanOption("gzip", options.gzip, false),
    signal: signalOption("signal", options.signal),
    onChunk: functionOption<(chunk: BuildContextChunk) => void>("onChunk", options.onChunk),
    fs: objectOption<BuildContextFs>("fs", options.fs, "an object of node:fs functions") ?? nodeFs,
  };
}

/**
 * Packs `dir` as a build context the way the Docker CLI's classic builder does: `.dockerignore`
 * (or `<Dockerfile>.dockerignore`) applied with moby's semantics to the files of `dir` (not to
 * overlays), the Dockerfile and `.dockerignore` always sent, exact modes and mtimes, symlinks
 * sent as links and never followed, nothing read from outside the context and the overlays.
 * Memory stays flat; nothing is read until the stream is, so destroy it if you do not consume
 * it. A file that vanishes, shrinks or cannot be read destroys the stream with a
 * `BuildContextError` naming it. Details: `docs/build-contexts.md`.
 * @param dir The context directory.
 * @throws InvalidArgumentError for bad arguments; DockerfileNotFoundError (a `BuildError`) when
 *   the Dockerfile does not exist; BuildContextError when `dir`, the Dockerfile, an overlay or
 *   the ignore file cannot be used (unreadable, not a regular file, a symlink out of the context,
 *   too big, invalid patterns), before anything is sent.
 * @example
 * const { stream, dockerfile } = await createBuildContext("./app", { dockerfile: "Dockerfile" });
 * await docker.buildImage(stream, { t: "app:latest", dockerfile });
 */
export async function createBuildContext(
  dir: string,
  options: BuildContextOptions = {},
): Promise<BuildContext> {
  const { dockerfile, overlays, gzip, signal, onChunk, fs } = normalizeBuildContextOptions(
    dir,
    options,
  );
  signal?.throwIfAborted();
  const plan = planContext(dir, { dockerfile, overlays, fs });
  signal?.throwIfAborted();
  const walker = new ContextWalker(plan.root, {
    excludes: plan.excludes,
    alwaysInclude: plan.alwaysInclude,
    overlays,
    files: plan.files,
    fs,
  });
  const writer = new TarWriter(walker, fs);

  let settle: (error: Error | undefined) => void = () => {};
  const entries = new Promise<readonly BuildContextEntry[]>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve(writer.entries) : reject(error));
  });
  // Callers that never look at `entries` must not get an unhandled rejection.
  entries.catch(() => {});
  const tar = new ContextStream(writer, { onChunk, onSettled: (error) => settle(error) });

  let stream: Readable = tar;
  if (gzip) {
    const compressed = zlib().createGzip();
    pipeline(tar, compressed, () => {});
    stream = compressed;
  }
  if (signal !== undefined) {
    const onAbort = () => stream.destroy(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    stream.once("close", () => signal.removeEventListener("abort", onAbort));
  }
  return { stream, dockerfile: plan.dockerfile, entries };
}
