import { ClientRequest } from "node:http";
import { Socket } from "node:net";
import { Readable, type Writable } from "node:stream";
import { BuildContextError } from "../errors.js";
import { CHUNK, type TarWriter } from "./tar-writer.js";

/** Longest stretch of synchronous reading before the event loop gets a turn. */
const SLICE_MS = 4;

/** What a {@link ContextStreamOptions.onChunk} hook is told. */
export interface ContextChunk {
  /** Bytes in this chunk. */
  readonly bytes: number;
  /** Bytes of the tar so far, this chunk included. */
  readonly totalBytes: number;
  /** Entries written so far. */
  readonly entries: number;
}

/** Options of {@link ContextStream}. */
export interface ContextStreamOptions {
  readonly onChunk?: ((chunk: ContextChunk) => void) | undefined;
  /** Called once: with nothing after the last chunk, or with the error that ended the stream. */
  readonly onSettled: (error: Error | undefined) => void;
}

/**
 * The build context as an ordinary `Readable`; nothing is read until the consumer asks.
 *
 * Reads with synchronous `fs` calls in slices of a few milliseconds (`setImmediate` between
 * them): for many small files about three times faster, at a quarter of the CPU, than
 * callback-based `fs`, each call of which is a round trip through libuv's thread pool.
 *
 * Chunk memory is reused (a 1 GiB upload stays under 100 MiB) only when provably safe: the one
 * consumer is one `pipe()` into a socket or HTTP request, whose `writableLength` counts every
 * byte not yet written, so a chunk out of both its buffer and ours is no longer referenced. Any
 * other consumer (another pipe or `'data'` listener, `'readable'`, async iteration) turns reuse
 * off for good.
 */
export class ContextStream extends Readable {
  private readonly writer: TarWriter;
  private readonly onChunk: ((chunk: ContextChunk) => void) | undefined;
  private readonly onSettled: (error: Error | undefined) => void;
  private scheduled = false;
  private ended = false;
  private settled = false;
  private total = 0;
  /** Chunks handed to the consumer, with the stream offset where each ends. */
  private readonly handedOut: { readonly chunk: Buffer; readonly end: number }[] = [];
  private reuse = true;
  private dataListeners = 0;
  /** The socket or HTTP request of the first pipe(), when that pipe was the first consumer. */
  private destination: Writable | undefined;

  constructor(writer: TarWriter, options: ContextStreamOptions) {
    super({ highWaterMark: CHUNK });
    this.writer = writer;
    this.onChunk = options.onChunk;
    this.onSettled = options.onSettled;
    this.on("newListener", (event: string | symbol) => {
      if (event === "data") this.dataListeners++;
      else if (event === "readable") this.reuse = false;
    });
  }

  /** Records the first pipe into a socket or HTTP request (`stream.pipeline` too), for reuse. */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (destination instanceof Socket || destination instanceof ClientRequest) {
      if (this.destination === undefined && this.dataListeners === 0)
        this.destination = destination;
      else this.reuse = false;
    }
    return super.pipe(destination, options);
  }

  override _read(): void {
    this.schedule();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.writer.close();
    this.handedOut.length = 0;
    this.settle(
      error ??
        new BuildContextError(
          "the build context stream was destroyed before it was read to its end",
          this.writer.root,
        ),
    );
    callback(error);
  }

  private settle(error: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettled(error);
  }

  private schedule(): void {
    if (this.scheduled || this.ended || this.destroyed) return;
    this.scheduled = true;
    setImmediate(() => this.slice());
  }

  private slice(): void {
    this.scheduled = false;
    if (this.destroyed || this.ended) return;
    this.release();
    let chunk: Buffer | undefined | null;
    try {
      chunk = this.writer.fill(performance.now() + SLICE_MS);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (chunk === null) {
      this.ended = true;
      this.settle(undefined);
      this.push(null);
      return;
    }
    if (chunk === undefined) {
      // A slice spent on excluded entries or a half-full chunk: Readable will not call _read
      // again without a push, so come back after the event loop's turn.
      this.schedule();
      return;
    }
    this.total += chunk.length;
    if (this.reuse) this.handedOut.push({ chunk, end: this.total });
    if (this.onChunk !== undefined) {
      try {
        this.onChunk({
          bytes: chunk.length,
          totalBytes: this.total,
          entries: this.writer.entries.length,
        });
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
    }
    if (this.push(chunk)) this.schedule();
  }

  /** Gives back the memory of chunks the destination has finished writing (see the class doc). */
  private release(): void {
    if (this.handedOut.length === 0) return;
    // One 'data' listener: that pipe's own, so nothing else holds the chunks. pipe() sets
    // `destination` only for a socket or HTTP request.
    const destination = this.reuse && this.dataListeners === 1 ? this.destination : undefined;
    if (destination === undefined) {
      // Not provably safe (another consumer, or bytes taken with read() before any pipe): keep
      // nothing, so a later change of consumer cannot matter.
      if (!this.reuse || this.dataListeners > 0 || this.total > this.readableLength) {
        this.reuse = false;
        this.handedOut.length = 0;
      }
      return;
    }
    const done = this.total - this.readableLength - destination.writableLength;
    while (this.handedOut.length > 0 && (this.handedOut[0]?.end as number) <= done) {
      this.writer.recycle((this.handedOut.shift() as { chunk: Buffer }).chunk);
    }
  }
}
