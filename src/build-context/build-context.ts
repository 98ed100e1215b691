/**
 * The build context sent to the engine: a tar stream of a directory, filtered by `.dockerignore`
 * with the Docker CLI's semantics, plus optional host files and folders laid over it. Planned by
 * `context-plan.ts`, walked by `context-walker.ts`, written by `tar-writer.ts` and carried by
 * `context-stream.ts`.
 * @module
 */
import nodeFs from "node:fs";
import { pipeline, type Readable } from "node:stream";
import { InvalidArgumentError } from "../errors.js";
import { zlib } from "../lazy-builtins.js";
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
  /** The host path the entry was read from (or, for a Dockerfile from outside the context, its path); absent for other generated entries. */
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
   * Called with every chunk of the (uncompressed) tar as it is queued for the stream's consumer:
   * upload progress, and a sign of life for inactivity timeouts, without a `'data'` listener
   * (which would start the stream flowing before it is piped). A hook that throws destroys the
   * stream with its error.
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
  /**
   * Every entry sent, in order, once the stream has been read to its end. Rejects with the
   * stream's error if it fails or is destroyed first.
   */
  readonly entries: Promise<readonly BuildContextEntry[]>;
}

function validate(dir: unknown, options: BuildContextOptions): void {
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
  const { dockerfile, overlays, onChunk } = options;
  if (dockerfile !== undefined && (typeof dockerfile !== "string" || dockerfile === "")) {
    throw new InvalidArgumentError(
      `dockerfile must be a non-empty path relative to the context or absolute, got ${JSON.stringify(dockerfile)}`,
    );
  }
  if (onChunk !== undefined && typeof onChunk !== "function") {
    throw new InvalidArgumentError(`onChunk must be a function, got ${typeof onChunk}`);
  }
  if (overlays !== undefined) validateOverlays(overlays);
}

/**
 * Packs `dir` as a build context for the engine, the way the Docker CLI's classic builder does:
 *
 * - `.dockerignore` (or `<Dockerfile>.dockerignore` next to the Dockerfile, which then takes
 *   precedence) is applied with moby's semantics, matched in linear time; excluded folders are
 *   not even read unless an exception could re-include something below them. It applies to the
 *   files of `dir` only, not to `overlays`, to which their own folder's applies when they ask.
 * - The Dockerfile and `.dockerignore` are always sent, even when ignored: the engine needs the
 *   Dockerfile and removes both from what `COPY` sees when `.dockerignore` excludes them.
 * - Entries keep their exact permission bits (no umask), mtimes and empty folders; symlinks are
 *   archived as links and never followed, overlays included; no byte is read from outside the
 *   context and the overlays' host paths. A file seen twice (same device and inode) becomes a
 *   hardlink; owners are uid/gid 0 with no names; FIFOs, sockets and devices are skipped. Names
 *   that are not valid UTF-8 are sent as their bytes. Entries are in byte order of their names,
 *   folder by folder.
 * - The Dockerfile and `.dockerignore` are read only if they are regular files (no FIFO, device
 *   or link out of the context) of at most 16 MiB.
 * - The stream applies backpressure: memory stays flat whatever the context's size. A file that
 *   vanishes, shrinks or cannot be read destroys the stream with a `BuildContextError` naming it.
 *
 * Nothing is read until the stream is; destroy it if you do not consume it.
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
  options?.signal?.throwIfAborted();
  validate(dir, options);
  const { dockerfile, overlays = [], gzip = false, signal, onChunk, fs = nodeFs } = options;
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
    // The walker's entries carry `source` as a getter: no copy of a list that can be long.
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
