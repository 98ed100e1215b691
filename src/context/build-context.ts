/**
 * The build context sent to the engine: a tar stream of a directory, filtered by `.dockerignore`
 * with the Docker CLI's semantics, plus optional host files and folders laid over it.
 * @module
 */
import { createHash } from "node:crypto";
import nodeFs, { type Dirent, type Stats } from "node:fs";
import { ClientRequest } from "node:http";
import { Socket } from "node:net";
import path from "node:path";
import { pipeline, Readable, type Writable } from "node:stream";
import { createGzip } from "node:zlib";
import { createDebug } from "../debug-logger.js";
import { BuildContextError, DockerUtilsError, InvalidArgumentError } from "../errors.js";
import { type MatchInfo, PatternMatcher, parseDockerignore } from "./dockerignore.js";
import { BLOCK, headerSize, padded, type TarHeader, writeHeader } from "./tar-header.js";

const debug = createDebug("prefect-dockerutils:context");

/** A file or folder from outside the context directory that appears in the context at `contextPath`. */
export interface BuildContextOverlay {
  /** Where the entry appears in the context (POSIX, relative, no `..`). */
  readonly contextPath: string;
  /**
   * The file or directory on the host whose content is sent there. A symlink here is followed;
   * symlinks inside an overlaid folder are archived as links, like everywhere else.
   */
  readonly hostPath: string;
}

/** One entry of the tar stream, in the order it was sent: its tar header and where it came from. */
export interface BuildContextEntry extends TarHeader {
  /** The host path the entry was read from; absent for generated entries. */
  readonly source?: string | undefined;
}

/**
 * The synchronous `node:fs` functions the context reader uses. Pass your own (for example the real
 * module with one function replaced) to test failure paths or read from a virtual file system.
 */
export type BuildContextFs = Pick<
  typeof nodeFs,
  | "readdirSync"
  | "lstatSync"
  | "statSync"
  | "readlinkSync"
  | "realpathSync"
  | "readFileSync"
  | "openSync"
  | "readSync"
  | "closeSync"
>;

/** Options of {@link createBuildContext}. */
export interface BuildContextOptions {
  /**
   * The Dockerfile, relative to the context directory or absolute. A Dockerfile outside the
   * context is sent under a generated name (`.dockerfile.<hash>`), as the Docker CLI does; use
   * the returned {@link BuildContext.dockerfile}.
   * @default "Dockerfile" (or `dockerfile` when only that exists, as the Docker CLI does)
   */
  readonly dockerfile?: string;
  /**
   * Host files and folders added to the context as if they were in it. They win over real files
   * at the same path, later overlays win over earlier ones, and `.dockerignore` does not apply to
   * them.
   * @default []
   */
  readonly overlays?: readonly BuildContextOverlay[];
  /** Gzip the tar stream. The engine detects compression by itself. @default false */
  readonly gzip?: boolean;
  /** Aborts reading the context: the stream is destroyed with `signal.reason`. */
  readonly signal?: AbortSignal;
  /**
   * Reuse each chunk's memory once the destination the stream is `pipe()`d into has written it,
   * instead of allocating a new megabyte per chunk: far less garbage collection and a lower, flat
   * peak memory on big contexts. It takes effect only when the (uncompressed) stream is piped,
   * before anything read from it, into an `http.ClientRequest` or a `net.Socket`, which hand the
   * bytes to the kernel before calling back (dockerode's `buildImage` does exactly that);
   * otherwise the stream behaves as usual. `'data'` listeners still see every chunk but must not
   * keep a reference to it.
   * @default false
   */
  readonly reuseBuffers?: boolean;
  /** The file system functions to read with. @default node:fs */
  readonly fs?: BuildContextFs;
}

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

/** Output is handed on in chunks of this size; file data is read straight into them. */
const CHUNK = 1024 * 1024;
/** Files up to this size are read in one go inside the current chunk. */
const SMALL_FILE = 256 * 1024;
/** Longest stretch of synchronous reading before the event loop gets a turn. */
const SLICE_MS = 4;
/** Chunks kept for reuse while piping with `reuseBuffers`. */
const POOL_SIZE = 4;
const END_OF_ARCHIVE = 2 * BLOCK;
const DEFAULT_DIR_MODE = 0o755;

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = nodeFs.constants;
// O_NONBLOCK: a file swapped for a FIFO after it was listed must not hang the open() forever.
const OPEN_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

type Kind = "dir" | "file" | "symlink" | "other" | "unknown";

interface OverlayNode {
  hostPath: string | undefined;
  readonly children: Map<string, OverlayNode>;
}

interface GeneratedFile {
  readonly content: Buffer;
  readonly mode: number;
  readonly mtime: number;
  readonly source: string | undefined;
}

interface Child {
  readonly name: string;
  /** Whether the name holds UTF-16 surrogates or code units above them: byte order differs there. */
  readonly wide: boolean;
  host: string | undefined;
  kind: Kind;
  overlay: OverlayNode | undefined;
  generated: GeneratedFile | undefined;
}

interface Frame {
  readonly rel: string;
  readonly children: Child[];
  index: number;
  /** Whether `.dockerignore` applies to this folder's real entries. */
  readonly ignore: boolean;
  readonly info: MatchInfo | undefined;
  /** The folder's own entry while it is held back (an excluded folder walked for exceptions). */
  pending: BuildContextEntry | undefined;
}

interface OpenFile {
  readonly fd: number;
  readonly host: string;
  readonly size: number;
  position: number;
}

interface Plan {
  readonly root: string;
  readonly rootMtime: number;
  readonly matcher: PatternMatcher;
  readonly forced: ReadonlySet<string>;
  readonly forcedDirs: ReadonlySet<string>;
  readonly overlays: OverlayNode;
  readonly generated: ReadonlyMap<string, GeneratedFile>;
  readonly fs: BuildContextFs;
  readonly reuseBuffers: boolean;
}

function kindOf(dirent: Dirent): Kind {
  if (dirent.isFile()) return "file";
  if (dirent.isDirectory()) return "dir";
  if (dirent.isSymbolicLink()) return "symlink";
  if (
    dirent.isFIFO() ||
    dirent.isSocket() ||
    dirent.isCharacterDevice() ||
    dirent.isBlockDevice()
  ) {
    return "other";
  }
  return "unknown";
}

function kindOfStats(stats: Stats): Kind {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "dir";
  if (stats.isSymbolicLink()) return "symlink";
  return "other";
}

const WIDE = /[\ud800-\uffff]/;

function child(name: string, host: string | undefined, kind: Kind): Child {
  return { name, wide: WIDE.test(name), host, kind, overlay: undefined, generated: undefined };
}

/** Byte order of the UTF-8 names, like Go's `filepath.WalkDir` and GNU tar's `--sort=name`. */
function compareChildren(a: Child, b: Child): number {
  if (a.wide || b.wide) return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function seconds(stats: Stats): number {
  return Math.floor(stats.mtimeMs / 1000);
}

const typedFill = Uint8Array.prototype.fill;

/** Zeroes tar padding; the typed-array fill skips Buffer.fill's argument checks. */
function zero(target: Buffer, from: number, to: number): void {
  if (to > from) typedFill.call(target, 0, from, to);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The tar stream. It reads with synchronous `fs` calls in slices of at most a few milliseconds
 * (`setImmediate` between them): for the many small files of a typical context this is about
 * three times faster and uses a quarter of the CPU of callback-based `fs`, each call of which is a
 * round trip through libuv's thread pool, while the event loop still gets a turn between slices.
 */
class ContextStream extends Readable {
  readonly entries: BuildContextEntry[] = [];
  private readonly plan: Plan;
  private readonly stack: Frame[] = [];
  private readonly hardlinks = new Map<string, string>();
  private pendingFrames = 0;
  private chunk: Buffer | undefined;
  private used = 0;
  private open: OpenFile | undefined;
  private scheduled = false;
  private begun = false;
  private finished = false;
  private pushedInSlice = false;
  private bytes = 0;
  private readonly started = performance.now();
  private readonly onSettled: (error: Error | undefined) => void;
  /** Set while piping with `reuseBuffers`: chunks go straight to it and come back to `pool`. */
  private sink: Writable | undefined;
  private sinkEnd = true;
  private sinkFull = false;
  /** Chunks read while the sink drains the previous one (usually one), so the socket never idles. */
  private readonly held: { readonly data: Buffer; readonly whole: Buffer }[] = [];
  private sinkEnding = false;
  private readonly pool: Buffer[] = [];
  private readonly onSinkDrain = () => {
    this.sinkFull = false;
    while (!this.sinkFull) {
      const next = this.held.shift();
      if (next === undefined) break;
      this.writeToSink(next.data, next.whole);
    }
    if (this.sinkEnding) this.endSink();
    else this.schedule();
  };
  private readonly onSinkClose = () => {
    // Readable.pipe would just stop here; stop too, but let go of the open file.
    if (!this.finished) this.destroy();
  };

  constructor(plan: Plan, onSettled: (error: Error | undefined) => void) {
    super({ highWaterMark: CHUNK });
    this.plan = plan;
    this.onSettled = onSettled;
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (
      this.plan.reuseBuffers &&
      this.sink === undefined &&
      !this.begun &&
      this.readableLength === 0 &&
      (destination instanceof ClientRequest || destination instanceof Socket)
    ) {
      this.sink = destination;
      this.sinkEnd = options?.end !== false;
      destination.on("drain", this.onSinkDrain);
      destination.once("close", this.onSinkClose);
      destination.emit("pipe", this);
      // Flowing with nothing pushed: Readable stays idle until push(null) makes it emit 'end'.
      this.resume();
      this.schedule();
      return destination;
    }
    return super.pipe(destination, options);
  }

  override _read(): void {
    if (this.sink === undefined) this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.finished) return;
    this.scheduled = true;
    setImmediate(() => this.slice());
  }

  private detachSink(): void {
    this.sink?.off("drain", this.onSinkDrain);
    this.sink?.off("close", this.onSinkClose);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeOpenFile();
    this.detachSink();
    this.pool.length = 0;
    this.held.length = 0;
    this.chunk = undefined;
    if (!this.finished) {
      this.finished = true;
      this.onSettled(
        error ??
          new BuildContextError(
            "the build context stream was destroyed before it was read to its end",
            this.plan.root,
          ),
      );
    }
    callback(error);
  }

  private slice(): void {
    this.scheduled = false;
    if (this.destroyed || this.finished) return;
    const deadline = performance.now() + SLICE_MS;
    this.pushedInSlice = false;
    try {
      if (!this.begun) {
        this.begun = true;
        this.start();
      }
      for (let steps = 1; ; steps++) {
        if (this.open !== undefined) this.pump();
        else if (!this.step()) {
          this.finish();
          return;
        }
        if (this.pushedInSlice) break;
        if ((steps & 31) === 0 && performance.now() > deadline) break;
      }
    } catch (error) {
      this.destroy(this.toContextError(error));
      return;
    }
    if (this.sink !== undefined) {
      if (this.held.length === 0) this.schedule();
    } else if (!this.pushedInSlice) {
      // Readable only calls _read again after a push; a slice spent on excluded entries has none.
      this.schedule();
    }
  }

  private toContextError(error: unknown): Error {
    if (error instanceof DockerUtilsError) return error;
    const target = (error as { path?: unknown }).path;
    const where = typeof target === "string" ? target : this.plan.root;
    return new BuildContextError(`cannot read the build context: ${describe(error)}`, where, {
      cause: error,
    });
  }

  private start(): void {
    const { plan } = this;
    this.stack.push({
      rel: "",
      children: this.list(plan.root, plan.overlays, plan.generated),
      index: 0,
      ignore: true,
      info: undefined,
      pending: undefined,
    });
  }

  private list(
    host: string | undefined,
    overlay: OverlayNode | undefined,
    generated?: ReadonlyMap<string, GeneratedFile>,
  ): Child[] {
    const children: Child[] = [];
    if (host !== undefined) {
      for (const dirent of this.plan.fs.readdirSync(host, { withFileTypes: true })) {
        children.push(child(dirent.name, `${host}/${dirent.name}`, kindOf(dirent)));
      }
    }
    if ((overlay !== undefined && overlay.children.size > 0) || (generated?.size ?? 0) > 0) {
      const byName = new Map(children.map((entry) => [entry.name, entry]));
      const extra = (name: string): Child => {
        let existing = byName.get(name);
        if (existing === undefined) {
          existing = child(name, undefined, "unknown");
          byName.set(name, existing);
          children.push(existing);
        }
        return existing;
      };
      for (const [name, node] of overlay?.children ?? []) extra(name).overlay = node;
      for (const [name, file] of generated ?? []) extra(name).generated = file;
    }
    return children.sort(compareChildren);
  }

  /** Handles the next child of the innermost folder; `false` once everything has been sent. */
  private step(): boolean {
    const frame = this.stack[this.stack.length - 1];
    if (frame === undefined) return false;
    const next = frame.children[frame.index++];
    if (next === undefined) {
      this.stack.pop();
      if (frame.pending !== undefined) this.pendingFrames--;
      return true;
    }
    const rel = frame.rel === "" ? next.name : `${frame.rel}/${next.name}`;
    if (next.generated !== undefined) {
      const { content, mode, mtime, source } = next.generated;
      this.emitData(
        { name: rel, type: "file", mode, size: content.length, mtime, source },
        content,
      );
      return true;
    }
    if (next.overlay !== undefined) {
      this.overlay(frame, next, next.overlay, rel);
      return true;
    }
    const host = next.host as string;
    const { matcher, fs } = this.plan;
    let excluded = false;
    let info: MatchInfo | undefined;
    if (frame.ignore && !matcher.empty) {
      const result = matcher.matchesUsingParentResults(rel, frame.info);
      info = result.info;
      excluded = result.matched && !this.plan.forced.has(rel);
    }
    if (next.kind === "other" || (excluded && next.kind !== "dir" && next.kind !== "unknown")) {
      return true;
    }
    if (excluded && next.kind === "dir" && !this.mustWalk(rel, info)) return true;
    const stats = fs.lstatSync(host);
    const kind = kindOfStats(stats);
    if (kind === "dir") {
      if (excluded && !this.mustWalk(rel, info)) return true;
      const entry = this.dirEntry(rel, stats, host);
      this.pushFrame(
        rel,
        this.list(host, undefined),
        frame.ignore,
        info,
        excluded ? entry : undefined,
      );
      if (!excluded) this.sendEntry(entry);
    } else if (!excluded) {
      this.nonDirectory(rel, host, stats, kind);
    }
    return true;
  }

  private mustWalk(rel: string, info: MatchInfo | undefined): boolean {
    return (
      this.plan.forcedDirs.has(rel) ||
      (info !== undefined && this.plan.matcher.mayIncludeBelow(rel, info))
    );
  }

  private overlay(frame: Frame, next: Child, node: OverlayNode, rel: string): void {
    const { fs } = this.plan;
    if (node.hostPath !== undefined) {
      const stats = fs.lstatSync(node.hostPath);
      const kind = kindOfStats(stats);
      if (kind === "dir" || node.children.size > 0) {
        const host = kind === "dir" ? node.hostPath : undefined;
        this.sendEntry(
          host === undefined ? this.syntheticDir(rel) : this.dirEntry(rel, stats, host),
        );
        this.pushFrame(rel, this.list(host, node), false, undefined, undefined);
      } else {
        this.nonDirectory(rel, node.hostPath, stats, kind);
      }
      return;
    }
    // A folder that only exists to hold deeper overlays: keep the real one, if any, beneath them.
    let stats: Stats | undefined;
    if (next.host !== undefined && (next.kind === "dir" || next.kind === "unknown")) {
      stats = fs.lstatSync(next.host);
      if (!stats.isDirectory()) stats = undefined;
    }
    let info: MatchInfo | undefined;
    if (stats !== undefined && frame.ignore && !this.plan.matcher.empty) {
      info = this.plan.matcher.matchesUsingParentResults(rel, frame.info).info;
    }
    const host = stats === undefined ? undefined : next.host;
    this.sendEntry(stats === undefined ? this.syntheticDir(rel) : this.dirEntry(rel, stats, host));
    this.pushFrame(rel, this.list(host, node), frame.ignore && host !== undefined, info, undefined);
  }

  private pushFrame(
    rel: string,
    children: Child[],
    ignore: boolean,
    info: MatchInfo | undefined,
    pending: BuildContextEntry | undefined,
  ): void {
    this.stack.push({ rel, children, index: 0, ignore, info, pending });
    if (pending !== undefined) this.pendingFrames++;
  }

  private dirEntry(rel: string, stats: Stats, host: string | undefined): BuildContextEntry {
    return {
      name: rel,
      type: "directory",
      mode: stats.mode & 0o7777,
      size: 0,
      mtime: seconds(stats),
      source: host,
    };
  }

  private syntheticDir(rel: string): BuildContextEntry {
    return {
      name: rel,
      type: "directory",
      mode: DEFAULT_DIR_MODE,
      size: 0,
      mtime: this.plan.rootMtime,
    };
  }

  private nonDirectory(rel: string, host: string, stats: Stats, kind: Kind): void {
    if (kind === "symlink") {
      const linkname = this.plan.fs.readlinkSync(host);
      this.sendEntry({
        name: rel,
        type: "symlink",
        mode: stats.mode & 0o7777,
        size: 0,
        mtime: seconds(stats),
        linkname,
        source: host,
      });
      return;
    }
    if (kind !== "file") return;
    const mode = stats.mode & 0o7777;
    const mtime = seconds(stats);
    if (stats.nlink > 1) {
      const key = `${stats.dev}:${stats.ino}`;
      const first = this.hardlinks.get(key);
      if (first !== undefined) {
        this.sendEntry({
          name: rel,
          type: "link",
          mode,
          size: 0,
          mtime,
          linkname: first,
          source: host,
        });
        return;
      }
      this.hardlinks.set(key, rel);
    }
    this.emitFile({ name: rel, type: "file", mode, size: stats.size, mtime, source: host });
  }

  /** Sends the folders held back above the entry about to be sent. */
  private releasePending(): void {
    for (const frame of this.stack) {
      if (frame.pending === undefined) continue;
      const pending = frame.pending;
      frame.pending = undefined;
      this.pendingFrames--;
      this.writeEntryHeader(pending);
    }
  }

  private sendEntry(entry: BuildContextEntry): void {
    if (this.pendingFrames > 0) this.releasePending();
    this.writeEntryHeader(entry);
  }

  private writeEntryHeader(entry: BuildContextEntry): number {
    const size = headerSize(entry);
    const at = this.reserve(size);
    writeHeader(this.chunk as Buffer, at, entry);
    this.used += size;
    this.entries.push(entry);
    return at;
  }

  private emitData(entry: BuildContextEntry, content: Buffer): void {
    if (this.pendingFrames > 0) this.releasePending();
    const header = headerSize(entry);
    const total = header + padded(content.length);
    const at = this.reserve(total);
    const chunk = this.chunk as Buffer;
    writeHeader(chunk, at, entry);
    content.copy(chunk, at + header);
    zero(chunk, at + header + content.length, at + total);
    this.used += total;
    this.bytes += content.length;
    this.entries.push(entry);
  }

  private emitFile(entry: BuildContextEntry): void {
    if (this.pendingFrames > 0) this.releasePending();
    const { size } = entry;
    const host = entry.source as string;
    const header = headerSize(entry);
    if (size === 0) {
      this.writeEntryHeader(entry);
      return;
    }
    const { fs } = this.plan;
    if (size <= SMALL_FILE) {
      const total = header + padded(size);
      const at = this.reserve(total);
      const chunk = this.chunk as Buffer;
      const fd = fs.openSync(host, OPEN_FLAGS);
      try {
        this.readFully(fd, host, chunk, at + header, size, 0, size);
      } finally {
        fs.closeSync(fd);
      }
      writeHeader(chunk, at, entry);
      zero(chunk, at + header + size, at + total);
      this.used += total;
      this.bytes += size;
      this.entries.push(entry);
      return;
    }
    const fd = fs.openSync(host, OPEN_FLAGS);
    this.open = { fd, host, size, position: 0 };
    this.writeEntryHeader(entry);
  }

  /** Copies the next piece of a big file straight into the output chunk. */
  private pump(): void {
    const file = this.open as OpenFile;
    const remaining = file.size - file.position;
    if (remaining === 0) {
      const padding = padded(file.size) - file.size;
      this.closeOpenFile();
      if (padding > 0) {
        const at = this.reserve(padding);
        zero(this.chunk as Buffer, at, at + padding);
        this.used += padding;
      }
      return;
    }
    if (this.chunk !== undefined && this.chunk.length - this.used < 64 * 1024) this.flush();
    const at = this.reserve(1);
    const chunk = this.chunk as Buffer;
    const length = Math.min(remaining, chunk.length - at);
    this.readFully(file.fd, file.host, chunk, at, length, file.position, file.size);
    file.position += length;
    this.used += length;
    this.bytes += length;
  }

  private readFully(
    fd: number,
    host: string,
    target: Buffer,
    at: number,
    length: number,
    position: number,
    expected: number,
  ): void {
    let done = 0;
    while (done < length) {
      let read: number;
      try {
        read = this.plan.fs.readSync(fd, target, at + done, length - done, position + done);
      } catch (error) {
        // Reads by file descriptor report no path: name the file here.
        throw new BuildContextError(`cannot read ${host}: ${describe(error)}`, host, {
          cause: error,
        });
      }
      if (read === 0) {
        throw new BuildContextError(
          `${host} changed while the build context was read: expected ${expected} bytes, got ${position + done}`,
          host,
        );
      }
      done += read;
    }
  }

  private closeOpenFile(): void {
    const file = this.open;
    if (file === undefined) return;
    this.open = undefined;
    try {
      this.plan.fs.closeSync(file.fd);
    } catch (error) {
      debug("closing %s failed: %s", file.host, describe(error));
    }
  }

  /** Makes room for `size` bytes in the current chunk and returns where they start. */
  private reserve(size: number): number {
    if (this.chunk === undefined || this.used + size > this.chunk.length) {
      this.flush();
      this.chunk =
        (size <= CHUNK ? this.pool.pop() : undefined) ?? Buffer.allocUnsafe(Math.max(CHUNK, size));
      this.used = 0;
    }
    return this.used;
  }

  /** Hands on what the current chunk holds; returns whether there was anything. */
  private flush(): boolean {
    const whole = this.chunk;
    if (whole === undefined || this.used === 0) return false;
    const data = this.used === whole.length ? whole : whole.subarray(0, this.used);
    this.chunk = undefined;
    this.used = 0;
    this.pushedInSlice = true;
    const sink = this.sink;
    if (sink === undefined) {
      this.push(data);
      return true;
    }
    if (this.sinkFull || this.held.length > 0) this.held.push({ data, whole });
    else this.writeToSink(data, whole);
    return true;
  }

  private writeToSink(data: Buffer, whole: Buffer): void {
    this.emit("data", data);
    const accepted = (this.sink as Writable).write(data, (error?: Error | null) => {
      // The socket has handed these bytes to the kernel: the memory is free to fill again.
      if (!error && !this.destroyed && whole.length === CHUNK && this.pool.length < POOL_SIZE) {
        this.pool.push(whole);
      }
    });
    if (!accepted) this.sinkFull = true;
  }

  /** Ends the sink once the last chunk is written, then lets the stream emit 'end'. */
  private endSink(): void {
    if (this.held.length > 0) {
      this.sinkEnding = true;
      return;
    }
    this.sinkEnding = false;
    const sink = this.sink as Writable;
    this.detachSink();
    if (this.sinkEnd) sink.end();
    this.push(null);
  }

  private finish(): void {
    const at = this.reserve(END_OF_ARCHIVE);
    zero(this.chunk as Buffer, at, at + END_OF_ARCHIVE);
    this.used += END_OF_ARCHIVE;
    this.flush();
    this.finished = true;
    debug(
      "packed %s: %d entries, %d bytes of data in %d ms",
      this.plan.root,
      this.entries.length,
      this.bytes,
      Math.round(performance.now() - this.started),
    );
    this.onSettled(undefined);
    if (this.sink !== undefined) this.endSink();
    else this.push(null);
  }
}

function toPosixRelative(value: string): string {
  return value.split(path.sep).join("/");
}

function normalizeContextPath(value: string, index: number): string {
  const segments = value.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (
    value.startsWith("/") ||
    path.isAbsolute(value) ||
    segments.length === 0 ||
    segments.includes("..")
  ) {
    throw new InvalidArgumentError(
      `overlays[${index}].contextPath must be a relative POSIX path inside the context without "..", got ${JSON.stringify(value)}`,
    );
  }
  return segments.join("/");
}

function validate(dir: unknown, options: BuildContextOptions): void {
  if (typeof dir !== "string" || dir === "") {
    throw new InvalidArgumentError(
      `the context directory must be a non-empty path, got ${JSON.stringify(dir)}`,
    );
  }
  const { dockerfile, overlays } = options;
  if (dockerfile !== undefined && (typeof dockerfile !== "string" || dockerfile === "")) {
    throw new InvalidArgumentError(
      `dockerfile must be a non-empty path relative to the context or absolute, got ${JSON.stringify(dockerfile)}`,
    );
  }
  if (overlays !== undefined && !Array.isArray(overlays)) {
    throw new InvalidArgumentError("overlays must be an array of { contextPath, hostPath }");
  }
  for (const [index, overlay] of (overlays ?? []).entries()) {
    if (typeof overlay?.contextPath !== "string" || typeof overlay.hostPath !== "string") {
      throw new InvalidArgumentError(
        `overlays[${index}] must be { contextPath: string, hostPath: string }, got ${JSON.stringify(overlay)}`,
      );
    }
    if (overlay.hostPath === "") {
      throw new InvalidArgumentError(`overlays[${index}].hostPath must not be empty`);
    }
    normalizeContextPath(overlay.contextPath, index);
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

function isInside(rel: string): boolean {
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

interface ResolvedDockerfile {
  /** Name inside the context. */
  readonly name: string;
  /** Where to look for `<Dockerfile>.dockerignore`. */
  readonly ignoreFile: string;
  /** Set when the Dockerfile lives outside the context and must be added to the tar. */
  readonly outside?: { readonly content: Buffer; readonly source: string };
}

function resolveDockerfile(
  fs: BuildContextFs,
  dir: string,
  root: string,
  option: string | undefined,
): ResolvedDockerfile {
  let given = path.resolve(dir, option ?? "Dockerfile");
  if (option === undefined) {
    // The Docker CLI falls back to a lower-case `dockerfile` when `Dockerfile` does not exist.
    const lower = path.resolve(dir, "dockerfile");
    if (!exists(fs, given) && exists(fs, lower)) given = lower;
  }
  const ignoreFile = `${given}.dockerignore`;
  let real: string;
  try {
    real = fs.realpathSync(given);
  } catch (error) {
    if (!isMissing(error)) {
      throw new BuildContextError(`cannot resolve the Dockerfile: ${describe(error)}`, given, {
        cause: error,
      });
    }
    const lexical = path.relative(path.resolve(dir), given);
    if (isInside(lexical)) {
      // Maybe an overlay provides it; otherwise the engine says "Cannot locate specified Dockerfile".
      return { name: toPosixRelative(lexical), ignoreFile };
    }
    throw new BuildContextError(`cannot locate the Dockerfile ${given}`, given, { cause: error });
  }
  const rel = path.relative(root, real);
  if (isInside(rel)) return { name: toPosixRelative(rel), ignoreFile };
  let content: Buffer;
  try {
    content = fs.readFileSync(real);
  } catch (error) {
    throw new BuildContextError(`cannot read the Dockerfile ${given}: ${describe(error)}`, given, {
      cause: error,
    });
  }
  // The CLI uses a random name; a content hash is as unlikely to collide and keeps the tar stable.
  const name = `.dockerfile.${createHash("sha256").update(content).digest("hex").slice(0, 20)}`;
  return { name, ignoreFile, outside: { content, source: real } };
}

function exists(fs: BuildContextFs, file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function readIgnoreFile(fs: BuildContextFs, file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw new BuildContextError(`cannot read ${file}: ${describe(error)}`, file, { cause: error });
  }
}

function overlayTree(fs: BuildContextFs, overlays: readonly BuildContextOverlay[]): OverlayNode {
  const root: OverlayNode = { hostPath: undefined, children: new Map() };
  for (const [index, overlay] of overlays.entries()) {
    let node = root;
    for (const segment of normalizeContextPath(overlay.contextPath, index).split("/")) {
      let next = node.children.get(segment);
      if (next === undefined) {
        next = { hostPath: undefined, children: new Map() };
        node.children.set(segment, next);
      }
      node = next;
    }
    const hostPath = path.resolve(overlay.hostPath);
    try {
      node.hostPath = fs.realpathSync(hostPath);
    } catch (error) {
      throw new BuildContextError(
        `cannot read overlays[${index}].hostPath ${hostPath}: ${describe(error)}`,
        hostPath,
        { cause: error },
      );
    }
    // A later overlay replaces an earlier one at the same path, deeper ones included.
    node.children.clear();
  }
  return root;
}

/**
 * Packs `dir` as a build context for the engine, the way the Docker CLI's classic builder does:
 *
 * - `.dockerignore` (or `<Dockerfile>.dockerignore` next to the Dockerfile, which then takes
 *   precedence) is applied with moby's semantics; excluded folders are not even read unless an
 *   exception could re-include something below them. It applies to the files of `dir` only, not
 *   to `overlays`.
 * - The Dockerfile and `.dockerignore` are always sent, even when ignored: the engine needs the
 *   Dockerfile and removes both from what `COPY` sees when `.dockerignore` excludes them.
 * - Entries keep their exact permission bits (no umask), mtimes and empty folders; symlinks are
 *   archived as links and never followed; a file seen twice (same device and inode) becomes a
 *   hardlink; owners are uid/gid 0 with no names; FIFOs, sockets and devices are skipped. Entries
 *   are in byte order of their names, folder by folder.
 * - The stream applies backpressure: memory stays flat whatever the context's size. A file that
 *   vanishes, shrinks or cannot be read destroys the stream with a `BuildContextError` naming it.
 *
 * Nothing is read until the stream is; destroy it if you do not consume it.
 * @param dir The context directory.
 * @throws InvalidArgumentError for bad arguments, BuildContextError when `dir`, the Dockerfile
 *   outside it, an overlay or the ignore file cannot be read or the ignore file is invalid.
 * @example
 * const { stream, dockerfile } = await createBuildContext("./app", { dockerfile: "Dockerfile" });
 * await docker.buildImage(stream, { t: "app:latest", dockerfile });
 */
export async function createBuildContext(
  dir: string,
  options: BuildContextOptions = {},
): Promise<BuildContext> {
  options.signal?.throwIfAborted();
  validate(dir, options);
  const {
    dockerfile: dockerfileOption,
    overlays = [],
    gzip = false,
    signal,
    reuseBuffers = false,
    fs = nodeFs,
  } = options;

  let root: string;
  let rootStats: Stats;
  try {
    root = fs.realpathSync(path.resolve(dir));
    rootStats = fs.statSync(root);
  } catch (error) {
    throw new BuildContextError(
      `cannot read the build context directory ${dir}: ${describe(error)}`,
      path.resolve(dir),
      { cause: error },
    );
  }
  if (!rootStats.isDirectory()) {
    throw new BuildContextError(`the build context ${dir} is not a directory`, path.resolve(dir));
  }

  const dockerfile = resolveDockerfile(fs, dir, root, dockerfileOption);
  const rootIgnore = path.join(root, ".dockerignore");
  const specific = readIgnoreFile(fs, dockerfile.ignoreFile);
  const rootIgnoreText = readIgnoreFile(fs, rootIgnore);
  const ignoreText = specific ?? rootIgnoreText;
  const ignoreFile = specific === undefined ? rootIgnore : dockerfile.ignoreFile;
  let matcher: PatternMatcher;
  try {
    matcher = new PatternMatcher(parseDockerignore(ignoreText ?? ""));
  } catch (error) {
    throw new BuildContextError(`invalid ${ignoreFile}: ${describe(error)}`, ignoreFile, {
      cause: error,
    });
  }

  const forced = new Set<string>([dockerfile.name]);
  if (rootIgnoreText !== undefined) forced.add(".dockerignore");
  const forcedDirs = new Set<string>();
  const parts = dockerfile.name.split("/");
  for (let depth = 1; depth < parts.length; depth++)
    forcedDirs.add(parts.slice(0, depth).join("/"));

  const generated = new Map<string, GeneratedFile>();
  if (dockerfile.outside !== undefined) {
    const { content, source } = dockerfile.outside;
    const now = Math.floor(Date.now() / 1000);
    generated.set(dockerfile.name, { content, mode: 0o600, mtime: now, source });
    // As the CLI does: list the generated name in .dockerignore so the engine keeps it out of COPY.
    let ignoreMode = 0o600;
    let ignoreMtime = now;
    try {
      const stats = fs.statSync(rootIgnore);
      ignoreMode = stats.mode & 0o7777;
      ignoreMtime = seconds(stats);
    } catch {
      // No .dockerignore: the generated one also lists itself, as the CLI's does.
    }
    const text = `${rootIgnoreText ?? ".dockerignore"}\n${dockerfile.name}\n`;
    generated.set(".dockerignore", {
      content: Buffer.from(text),
      mode: ignoreMode,
      mtime: ignoreMtime,
      source: undefined,
    });
  }

  const plan: Plan = {
    root,
    rootMtime: seconds(rootStats),
    matcher,
    forced,
    forcedDirs,
    overlays: overlayTree(fs, overlays),
    generated,
    fs,
    reuseBuffers: reuseBuffers && !gzip,
  };

  let settle: (error: Error | undefined) => void = () => {};
  const entries = new Promise<readonly BuildContextEntry[]>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve(tar.entries) : reject(error));
  });
  // Callers that never look at `entries` must not get an unhandled rejection.
  entries.catch(() => {});
  const tar = new ContextStream(plan, (error) => settle(error));

  let stream: Readable = tar;
  if (gzip) {
    const compressed = createGzip();
    pipeline(tar, compressed, () => {});
    stream = compressed;
  }
  if (signal !== undefined) {
    const onAbort = () => stream.destroy(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    stream.once("close", () => signal.removeEventListener("abort", onAbort));
  }
  return { stream, dockerfile: dockerfile.name, entries };
}
