import { open } from "node:fs/promises";
import { BuildContextError } from "../errors.js";
import { describe, OPEN_FLAGS } from "./context-fs.js";
import type { ContextEntry } from "./context-walker.js";
import { hostText } from "./host-names.js";

/** Options of {@link readContextFile}. */
export interface ReadContextFileOptions {
  /** Largest piece yielded. @default 65536 */
  readonly chunkSize?: number;
  /** Stops reading: the iterator throws `signal.reason` and closes the file. */
  readonly signal?: AbortSignal;
}

/**
 * The bytes of a walked file entry, for readers other than the tar writer (BuildKit's file
 * sync): its `content`, or its host file in pieces you may keep. Opened with {@link OPEN_FLAGS}
 * and checked with `fstat`, so a file swapped for a symlink, FIFO or device after the walk fails
 * instead of being followed or blocking; exactly `entry.size` bytes are read, or it fails.
 * @throws BuildContextError naming the file when it cannot be read as walked.
 * @example
 * for (const entry of walkContext(root)) {
 *   if (entry.type === "file") for await (const piece of readContextFile(entry)) send(piece);
 * }
 */
export async function* readContextFile(
  entry: ContextEntry,
  options: ReadContextFileOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  const { chunkSize = 64 * 1024, signal } = options;
  signal?.throwIfAborted();
  if (entry.type !== "file") return;
  if (entry.content !== undefined) {
    for (let at = 0; at < entry.content.length; at += chunkSize) {
      yield entry.content.subarray(at, at + chunkSize);
    }
    return;
  }
  if (entry.hostPath === undefined) return;
  const where = hostText(entry.hostPath);
  const fail = (why: string, cause?: unknown) =>
    new BuildContextError(`cannot read ${where}: ${why}`, where, { cause });
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(entry.hostPath, OPEN_FLAGS);
  } catch (error) {
    throw fail(describe(error), error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw fail("it is no longer a regular file");
    let position = 0;
    while (position < entry.size) {
      signal?.throwIfAborted();
      const piece = Buffer.allocUnsafe(Math.min(chunkSize, entry.size - position));
      const { bytesRead } = await handle.read(piece, 0, piece.length, position);
      if (bytesRead === 0) {
        throw fail(`it changed while it was read: expected ${entry.size} bytes, got ${position}`);
      }
      position += bytesRead;
      yield bytesRead === piece.length ? piece : piece.subarray(0, bytesRead);
    }
  } catch (error) {
    if (error instanceof BuildContextError || error === signal?.reason) throw error;
    throw fail(describe(error), error);
  } finally {
    await handle.close();
  }
}
