import nodeFs from "node:fs";
import { createDebug } from "../debug-logger.js";
import { BuildContextError } from "../errors.js";
import { type BuildContextFs, describe, OPEN_FLAGS } from "./context-fs.js";
import type { ContextEntry, ContextWalker } from "./context-walker.js";
import { type HostPath, hostText } from "./host-names.js";
import { BLOCK, headerSize, padded, writeHeader } from "./tar-header.js";

const debug = createDebug("prefect-dockerutils:context");

/** Output is handed on in chunks of this size; file data is read straight into them. */
export const CHUNK = 1024 * 1024;
/** Files up to this size are read in one go inside the current chunk. */
const SMALL_FILE = 256 * 1024;
const POOL_SIZE = 4;
const END_OF_ARCHIVE = 2 * BLOCK;

const typedFill = Uint8Array.prototype.fill;

/** Zeroes tar padding; the typed-array fill skips Buffer.fill's argument checks. */
function zero(target: Buffer, from: number, to: number): void {
  if (to > from) typedFill.call(target, 0, from, to);
}

interface OpenFile {
  readonly fd: number;
  readonly host: HostPath;
  readonly size: number;
  position: number;
}

/**
 * Writes the tar of a {@link ContextWalker}'s entries in 1 MiB chunks, file data read straight
 * into them with synchronous reads.
 */
export class TarWriter {
  /** Every entry written so far, in order. */
  readonly entries: ContextEntry[] = [];
  /** File data bytes written so far. */
  bytes = 0;
  /** The context directory, for messages. */
  readonly root: string;
  private readonly walker: ContextWalker;
  private readonly fs: BuildContextFs;
  private readonly pool: Buffer[] = [];
  private readonly out: Buffer[] = [];
  private chunk: Buffer | undefined;
  private used = 0;
  private open: OpenFile | undefined;
  private finished = false;
  private readonly started = performance.now();

  constructor(walker: ContextWalker, fs: BuildContextFs = nodeFs) {
    this.walker = walker;
    this.root = walker.root;
    this.fs = fs;
  }

  /**
   * Writes until a chunk is full or `deadline` (a `performance.now()` time) has passed, and
   * returns the chunk to hand on: `undefined` when there is none yet, `null` after the last.
   * @throws BuildContextError naming the file or folder that could not be read.
   */
  fill(deadline: number): Buffer | undefined | null {
    try {
      for (let steps = 1; this.out.length === 0 && !this.finished; steps++) {
        if (this.open !== undefined) this.pump();
        else {
          const entry = this.walker.next();
          if (entry === undefined) this.finish();
          else this.write(entry);
        }
        if ((steps & 31) === 0 && performance.now() > deadline) break;
      }
    } catch (error) {
      this.close();
      throw this.contextError(error);
    }
    return this.out.shift() ?? (this.finished ? null : undefined);
  }

  /** Gives a chunk returned by {@link fill} back for reuse: nothing may refer to it any more. */
  recycle(chunk: Buffer): void {
    const { buffer, byteOffset } = chunk;
    if (byteOffset === 0 && buffer.byteLength === CHUNK && this.pool.length < POOL_SIZE) {
      if (!this.finished) this.pool.push(Buffer.from(buffer, 0, CHUNK));
    }
  }

  /** Closes the open file and lets go of the chunk memory. */
  close(): void {
    this.closeOpenFile();
    this.pool.length = 0;
    this.chunk = undefined;
    this.finished = true;
  }

  private contextError(error: unknown): Error {
    if (error instanceof BuildContextError) return error;
    const target = (error as { path?: unknown }).path;
    const where =
      typeof target === "string" || Buffer.isBuffer(target) ? hostText(target) : this.walker.root;
    return new BuildContextError(`cannot read the build context: ${describe(error)}`, where, {
      cause: error,
    });
  }

  private write(entry: ContextEntry): void {
    const header = headerSize(entry);
    const { content, size } = entry;
    const data = entry.type === "file" ? size : 0;
    if (content !== undefined || data <= SMALL_FILE) {
      const total = header + padded(data);
      this.reserve(total);
      const chunk = this.chunk as Buffer;
      const at = this.used;
      if (data > 0) {
        if (content !== undefined) content.copy(chunk, at + header);
        else this.readFile(entry.hostPath as HostPath, chunk, at + header, data);
      }
      writeHeader(chunk, at, entry);
      zero(chunk, at + header + data, at + total);
      this.used += total;
      this.bytes += data;
    } else {
      const host = entry.hostPath as HostPath;
      const fd = this.fs.openSync(host, OPEN_FLAGS);
      this.open = { fd, host, size, position: 0 };
      // A big file is read over many slices: make sure it is still the regular file listed.
      const stats = (this.fs.fstatSync ?? nodeFs.fstatSync)(fd);
      if (!stats.isFile()) {
        throw new BuildContextError(
          `${hostText(host)} changed while the build context was read: it is no longer a regular file`,
          hostText(host),
        );
      }
      this.reserve(header);
      writeHeader(this.chunk as Buffer, this.used, entry);
      this.used += header;
    }
    this.entries.push(entry);
  }

  private readFile(host: HostPath, target: Buffer, at: number, size: number): void {
    const fd = this.fs.openSync(host, OPEN_FLAGS);
    try {
      this.readFully(fd, host, target, at, size, 0, size);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** Copies the next piece of a big file straight into the output chunk. */
  private pump(): void {
    const file = this.open as OpenFile;
    const remaining = file.size - file.position;
    if (remaining === 0) {
      const padding = padded(file.size) - file.size;
      this.closeOpenFile();
      if (padding === 0) return;
      this.reserve(padding);
      zero(this.chunk as Buffer, this.used, this.used + padding);
      this.used += padding;
      return;
    }
    if (this.chunk !== undefined && this.chunk.length - this.used < 64 * 1024) this.take();
    this.reserve(1);
    const chunk = this.chunk as Buffer;
    const length = Math.min(remaining, chunk.length - this.used);
    this.readFully(file.fd, file.host, chunk, this.used, length, file.position, file.size);
    file.position += length;
    this.used += length;
    this.bytes += length;
  }

  private readFully(
    fd: number,
    host: HostPath,
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
        read = this.fs.readSync(fd, target, at + done, length - done, position + done);
      } catch (error) {
        // Reads by file descriptor report no path: name the file here.
        throw new BuildContextError(
          `cannot read ${hostText(host)}: ${describe(error)}`,
          hostText(host),
          {
            cause: error,
          },
        );
      }
      if (read === 0) {
        throw new BuildContextError(
          `${hostText(host)} changed while the build context was read: expected ${expected} bytes, got ${position + done}`,
          hostText(host),
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
      this.fs.closeSync(file.fd);
    } catch (error) {
      debug("closing %s failed: %s", hostText(file.host), describe(error));
    }
  }

  /** Makes room for `size` bytes in the current chunk, handing the full one on when needed. */
  private reserve(size: number): void {
    if (this.chunk !== undefined && this.used + size <= this.chunk.length) return;
    this.take();
    this.chunk =
      (size <= CHUNK ? this.pool.pop() : undefined) ?? Buffer.allocUnsafe(Math.max(CHUNK, size));
    this.used = 0;
  }

  /** Hands on what the current chunk holds, if anything. */
  private take(): void {
    const whole = this.chunk;
    if (whole === undefined || this.used === 0) return;
    this.out.push(this.used === whole.length ? whole : whole.subarray(0, this.used));
    this.chunk = undefined;
    this.used = 0;
  }

  private finish(): void {
    this.reserve(END_OF_ARCHIVE);
    zero(this.chunk as Buffer, this.used, this.used + END_OF_ARCHIVE);
    this.used += END_OF_ARCHIVE;
    this.take();
    this.closeOpenFile();
    this.finished = true;
    debug(
      "packed %s: %d entries, %d bytes of data in %d ms",
      this.walker.root,
      this.entries.length,
      this.bytes,
      Math.round(performance.now() - this.started),
    );
  }
}
