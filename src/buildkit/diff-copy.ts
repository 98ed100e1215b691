/**
 * The sending side of fsutil's DiffCopy protocol, which the engine's FileSync client drives:
 *
 * 1. the sender sends a STAT packet per entry, in walk order, then an empty STAT;
 * 2. the receiver compares them with what it kept from the last build under the session's
 *    shared key, and asks for each new or changed file with REQ (the file's STAT index);
 * 3. the sender answers each REQ with the file's bytes in DATA packets and an empty DATA;
 * 4. the receiver sends FIN once it has everything; the sender answers FIN and the call ends.
 *
 * So a rebuild sends the file list and only the files that changed.
 *
 * Over 400 lines on purpose: the sender is one loop whose phases share the flow control (room in
 * the HTTP/2 window, the queue of requested files); the packet encoding is in messages.ts.
 * @module
 */
import nodeFs from "node:fs";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { BuildContextError } from "../errors.js";
import { type Packet, PacketType, type Stat } from "./messages.js";
import type { SyncEntry } from "./sync-tree.js";

/** What one DiffCopy call sent. */
export interface DiffCopyStats {
  /** Entries listed (STAT packets). */
  entries: number;
  /** Files the engine asked for. */
  files: number;
  /** Bytes of file content sent. */
  bytes: number;
}

/** The call the packets travel on (a gRPC DiffCopy call, or a test double). */
export interface PacketChannel {
  /**
   * Sends one packet; `done` is called once it is written out. Sends may overlap: they go out in
   * order, many per write to the connection. A `Buffer` is a packet already encoded, after
   * {@link FRAME_HEADER} unused bytes where gRPC's message header can go without a copy.
   */
  send(packet: Packet | Buffer, done: () => void): void;
  /** Ends the call successfully. */
  end(): void;
  on(event: "data", listener: (packet: Packet) => void): this;
  on(event: "end" | "cancelled" | "close", listener: () => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  off(event: string, listener: (...args: never[]) => void): this;
}

/** Bytes before an encoded packet, for gRPC's message header (a flag and a 32-bit length). */
export const FRAME_HEADER = 5;

/** Go's `os.FileMode` type bits. */
const MODE_DIR = 0x80000000;
const MODE_SYMLINK = 0x08000000;
const MODE_SETUID = 0x00800000;
const MODE_SETGID = 0x00400000;
const MODE_STICKY = 0x00100000;

/** File content travels in DATA packets of this size. */
const DATA_CHUNK = 256 * 1024;
/** Bytes and packets sent but not written out yet, beyond which sending waits. */
const PENDING_BYTES = 4 * 1024 * 1024;
const PENDING_PACKETS = 1024;
/** Longest stretch of synchronous walking or reading before the event loop gets a turn. */
const SLICE_MS = 8;

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = nodeFs.constants;
// O_NONBLOCK: a file swapped for a FIFO after it was listed must not hang the open() forever.
const OPEN_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/** An entry's `Stat`, as fsutil makes it: Go's `FileMode` bits, owners 0 like the docker CLI's. */
export function statOf(entry: SyncEntry): Stat {
  let mode = entry.mode & 0o777;
  if (entry.mode & 0o4000) mode |= MODE_SETUID;
  if (entry.mode & 0o2000) mode |= MODE_SETGID;
  if (entry.mode & 0o1000) mode |= MODE_STICKY;
  if (entry.type === "directory") mode |= MODE_DIR;
  if (entry.type === "symlink") mode |= MODE_SYMLINK;
  return {
    path: entry.nameBytes ?? entry.name,
    mode: mode >>> 0,
    uid: 0,
    gid: 0,
    size: entry.type === "directory" || entry.type === "link" ? 0 : entry.size,
    modTimeNs: entry.mtimeNs,
    linkname: entry.linknameBytes ?? entry.linkname ?? "",
  };
}

/** Varint bytes of `value` (below 2^32), protobuf's base-128 encoding. */
function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

function writeVarint(target: Buffer, at: number, value: number): number {
  let offset = at;
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  target[offset++] = value;
  return offset;
}

/**
 * A DATA packet with room for `length` bytes of content at the returned offset, so file content
 * is read straight into the message that goes on the wire instead of being copied into it
 * (1 GiB of context is 1 GiB of copying saved). After {@link FRAME_HEADER} unused bytes, the same
 * bytes protobufjs would write for `{ type: DATA, ID, data }`.
 */
function dataPacket(
  id: number,
  length: number,
  memory?: Buffer,
): { packet: Buffer; offset: number } {
  const header = 2 + (id ? 1 + varintLength(id) : 0) + 1 + varintLength(length);
  const size = FRAME_HEADER + header + length;
  const packet =
    memory !== undefined && memory.length >= size
      ? memory.subarray(0, size)
      : Buffer.allocUnsafe(size);
  packet[FRAME_HEADER] = 0x08;
  packet[FRAME_HEADER + 1] = PacketType.DATA;
  let at = FRAME_HEADER + 2;
  if (id) {
    packet[at++] = 0x18;
    at = writeVarint(packet, at, id);
  }
  packet[at++] = 0x22;
  at = writeVarint(packet, at, length);
  return { packet, offset: at };
}

/** Room for a full DATA packet: the frame header, the packet's fields, a whole chunk. */
const CHUNK_MEMORY = FRAME_HEADER + 16 + DATA_CHUNK;
/** Chunk memories kept for reuse: more than the bytes allowed unwritten. */
const CHUNK_POOL = Math.ceil(PENDING_BYTES / DATA_CHUNK) + 2;

/** Where a file's content comes from: a host path, bytes in memory, or nothing (a hard link). */
type FileSource = string | Buffer | { readonly content: Uint8Array } | null;

/** Options of {@link sendDiffCopy}. */
export interface DiffCopyOptions {
  /** Called on every packet sent or received, e.g. to keep an inactivity timer alive. */
  readonly onActivity?: (() => void) | undefined;
  /** Stops the transfer: the call is ended with the error. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Sends `entries` over `channel` as fsutil's sender does, answering the receiver's requests for
 * file content. Resolves with what was sent once the receiver has finished; rejects when a file
 * cannot be read (the receiver is told with an ERR packet), when the receiver reports an error,
 * or when the call is cancelled.
 */
export function sendDiffCopy(
  channel: PacketChannel,
  entries: Iterable<SyncEntry>,
  options: DiffCopyOptions = {},
): Promise<DiffCopyStats> {
  const stats: DiffCopyStats = { entries: 0, files: 0, bytes: 0 };
  /**
   * What to send for each file the receiver may ask for, by STAT index: its host path, its
   * in-memory content, or `null` (a hard link: no content). Kept small (not the entries), as
   * every file of a rebuild stays here until the end, long enough to outlive V8's young
   * generation and make it grow.
   */
  const files = new Map<number, FileSource>();
  const sizes = new Map<number, number>();
  const requests: number[] = [];
  let waiters: (() => void)[] = [];
  let settled = false;
  let sending = false;
  let pendingBytes = 0;
  let pendingPackets = 0;
  const { onActivity, signal } = options;

  return new Promise<DiffCopyStats>((resolve, reject) => {
    const wakeAll = () => {
      const waiting = waiters;
      waiters = [];
      for (const wake of waiting) wake();
    };
    const cleanup = () => {
      channel.off("data", onData);
      channel.off("end", onClosed);
      channel.off("cancelled", onClosed);
      channel.off("close", onClosed);
      channel.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
      wakeAll();
    };
    const fail = (error: Error, tellReceiver: boolean) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (tellReceiver) {
        try {
          channel.send(
            { type: PacketType.ERR, id: 0, data: Buffer.from(error.message) },
            () => undefined,
          );
          channel.end();
        } catch {
          // The call is already gone.
        }
      }
      reject(error);
    };
    const finish = () => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(stats);
    };
    /**
     * Sends a packet; `true` means wait for {@link room} before sending more. Sends overlap, so
     * many small packets leave in one write instead of one write (and one engine wake-up) each.
     */
    /**
     * Memory for big files' chunks, given back once the channel has written them out: without
     * it, each 256 KiB chunk of a 1 GiB file is a new buffer, and tens of megabytes of written
     * ones wait for the garbage collector.
     */
    const pool: Buffer[] = [];
    const send = (packet: Packet | Buffer, size: number, memory?: Buffer): boolean => {
      onActivity?.();
      pendingBytes += size;
      pendingPackets++;
      channel.send(packet, () => {
        if (memory !== undefined && pool.length < CHUNK_POOL && !settled) pool.push(memory);
        pendingBytes -= size;
        pendingPackets--;
        if (
          waiters.length > 0 &&
          pendingBytes <= PENDING_BYTES / 2 &&
          pendingPackets <= PENDING_PACKETS / 2
        ) {
          wakeAll();
        }
      });
      return pendingBytes > PENDING_BYTES || pendingPackets > PENDING_PACKETS;
    };
    const room = () =>
      settled ? Promise.resolve() : new Promise<void>((wake) => waiters.push(wake));
    const onData = (packet: Packet) => {
      onActivity?.();
      switch (packet.type) {
        case PacketType.REQ:
          requests.push(packet.id);
          if (!sending) void sendRequested();
          break;
        case PacketType.FIN:
          send({ type: PacketType.FIN, id: 0 }, 2);
          channel.end();
          finish();
          break;
        case PacketType.ERR:
          fail(
            new Error(`error from receiver: ${Buffer.from(packet.data ?? []).toString("utf8")}`),
            false,
          );
          break;
        default:
          // STAT and DATA only travel the other way; fsutil ignores them too.
          break;
      }
    };
    const onClosed = () => {
      if (!settled) fail(new Error("the engine ended the file transfer before it finished"), false);
    };
    const onError = (error: Error) => fail(error, false);
    const onAbort = () => fail(signal?.reason as Error, true);

    const walk = async () => {
      let index = 0;
      let deadline = performance.now() + SLICE_MS;
      for (const entry of entries) {
        if (settled) return;
        if (entry.type === "file") {
          files.set(
            index,
            entry.content !== undefined ? { content: entry.content } : (entry.source ?? null),
          );
          sizes.set(index, entry.size);
        } else if (entry.type === "link") {
          files.set(index, null);
        }
        index++;
        stats.entries++;
        const stat = statOf(entry);
        if (send({ type: PacketType.STAT, stat, id: 0 }, 32 + stat.path.length)) await room();
        if (performance.now() > deadline) {
          // Lets the engine's REQs and health checks in while a big folder is listed.
          await yieldToLoop();
          deadline = performance.now() + SLICE_MS;
        }
      }
      if (settled) return;
      send({ type: PacketType.STAT, id: 0 }, 2);
    };

    const sendRequested = async () => {
      sending = true;
      try {
        while (!settled) {
          const id = requests.shift();
          if (id === undefined) break;
          const source = files.get(id);
          if (source === undefined) {
            fail(new Error(`invalid file id ${id}`), true);
            return;
          }
          files.delete(id);
          const size = sizes.get(id) ?? 0;
          sizes.delete(id);
          stats.files++;
          await sendFile(id, source, size);
        }
      } catch (error) {
        fail(error as Error, true);
      } finally {
        sending = false;
      }
    };

    const sendFile = async (id: number, source: FileSource, size: number) => {
      if (source !== null && typeof source === "object" && "content" in source) {
        const { content } = source;
        for (let at = 0; at < content.length; at += DATA_CHUNK) {
          const piece = content.subarray(at, at + DATA_CHUNK);
          const { packet, offset } = dataPacket(id, piece.length);
          packet.set(piece, offset);
          stats.bytes += piece.length;
          if (send(packet, packet.length)) await room();
          if (settled) return;
        }
      } else if (source !== null) {
        const where = typeof source === "string" ? source : source.toString();
        let fd: number;
        try {
          fd = nodeFs.openSync(source, OPEN_FLAGS);
        } catch (error) {
          throw new BuildContextError(`cannot read ${where}: ${(error as Error).message}`, where, {
            cause: error,
          });
        }
        try {
          if (!nodeFs.fstatSync(fd).isFile()) {
            throw new BuildContextError(`${where} is no longer a regular file`, where);
          }
          // Exactly the size the STAT announced, as the tar path sends: a file that shrank since
          // it was listed fails the build rather than arrive cut.
          let position = 0;
          let deadline = performance.now() + SLICE_MS;
          while (position < size) {
            const want = Math.min(DATA_CHUNK, size - position);
            const memory =
              want === DATA_CHUNK ? (pool.pop() ?? Buffer.allocUnsafe(CHUNK_MEMORY)) : undefined;
            const { packet, offset } = dataPacket(id, want, memory);
            for (let got = 0; got < want; ) {
              const read = nodeFs.readSync(fd, packet, offset + got, want - got, position + got);
              if (read === 0) {
                throw new BuildContextError(
                  `${where} changed while the build context was read: expected ${size} bytes, got ${position + got}`,
                  where,
                );
              }
              got += read;
            }
            position += want;
            stats.bytes += want;
            if (send(packet, packet.length, memory)) await room();
            if (settled) return;
            if (performance.now() > deadline) {
              await yieldToLoop();
              deadline = performance.now() + SLICE_MS;
            }
          }
        } finally {
          nodeFs.closeSync(fd);
        }
      }
      if (send({ type: PacketType.DATA, id }, 8)) await room();
    };

    channel.on("data", onData);
    channel.on("end", onClosed);
    channel.on("cancelled", onClosed);
    channel.on("close", onClosed);
    channel.on("error", onError);
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    walk().catch((error: unknown) => {
      const failure =
        error instanceof BuildContextError
          ? error
          : new BuildContextError(
              `cannot read the build context: ${(error as Error).message}`,
              (error as { path?: string }).path ?? "",
              { cause: error },
            );
      fail(failure, true);
    });
  });
}
