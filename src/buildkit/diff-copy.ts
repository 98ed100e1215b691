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
 * the HTTP/2 window, the queue of requested files); packets are encoded by the generated codecs
 * (src/buildkit/generated/), DATA frames by data-frame.ts.
 * @module
 */
import nodeFs from "node:fs";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { BuildContextError } from "../errors.js";
import { DATA_FRAME_OVERHEAD, dataFrame, FRAME_HEADER } from "./data-frame.js";
import {
  type Packet,
  Packet_PacketType,
} from "./generated/github.com/tonistiigi/fsutil/types/wire.js";
import { SenderPacket } from "./generated/prefect-dockerutils/fsutil-sender.js";
import { encodeStatPacket } from "./stat-packet.js";
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

/** The call the packets travel on (a DiffCopy call of the session, or a test double). */
export interface PacketChannel {
  /**
   * Sends one encoded packet; `done` is called once it is written out. Sends may overlap: they
   * go out in order, many per write to the connection. `packet` is the caller's again once the
   * call returns (STAT packets share one buffer): copy what is kept.
   */
  send(packet: Uint8Array, done: () => void): void;
  /** Sends a DATA packet made by `dataFrame`, whose content is never copied. */
  sendFrame(frame: Buffer, done: () => void): void;
  /** Ends the call successfully. */
  end(): void;
  /** Receives the engine's packets, then its half-close. */
  listen(onPacket: (packet: Packet) => void, onHalfClose: () => void): void;
  /** Aborts when the call is over for this side (cancelled by the engine, or the session closed). */
  readonly signal: AbortSignal;
}

const {
  PACKET_STAT: STAT,
  PACKET_REQ: REQ,
  PACKET_DATA: DATA,
  PACKET_FIN: FIN,
  PACKET_ERR: ERR,
} = Packet_PacketType;
const EMPTY = new Uint8Array(0);

/**
 * One writer for every packet: `finish()` hands out the bytes and resets it, and a new writer per
 * packet doubled the cost of listing 20,000 files (30 ms against 10 ms).
 */
const writer = new BinaryWriter();

/**
 * Encodes a packet other than a file's STAT (stat-packet.ts) or DATA (data-frame.ts) with the
 * generated encoder (the sender's view: names as bytes).
 */
function encode(type: Packet_PacketType, id: number, data = EMPTY): Uint8Array {
  return SenderPacket.encode({ type, stat: undefined, ID: id, data }, writer).finish();
}

/** File content travels in DATA packets of this size. */
const DATA_CHUNK = 256 * 1024;
/**
 * Files up to this size go in one DATA packet that the channel copies into its shared chunk
 * (`send`), many files per write to the connection; bigger ones in frames of their own
 * (`sendFrame`), never copied. A frame per small file made a cold 20,000-file build two HTTP/2
 * writes per file, each with its own buffer and write request.
 */
const SMALL_FILE = 8 * 1024;
/** Bytes and packets sent but not written out yet, beyond which sending waits. */
const PENDING_BYTES = 4 * 1024 * 1024;
const PENDING_PACKETS = 1024;
/** Longest stretch of synchronous walking or reading before the event loop gets a turn. */
const SLICE_MS = 8;

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = nodeFs.constants;
// O_NONBLOCK: a file swapped for a FIFO after it was listed must not hang the open() forever.
const OPEN_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/** Room for a full DATA packet: the frame header, the packet's fields, a whole chunk. */
const CHUNK_MEMORY = DATA_FRAME_OVERHEAD + DATA_CHUNK;
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
   * in-memory content, or `null` (a hard link: no content); `undefined` for the other entries
   * and for files already sent. Kept small (not the entries), as every file of a rebuild stays
   * here until the end, long enough to outlive V8's young generation and make it grow: arrays
   * rather than maps, which took three times the memory and rehashed as they grew.
   */
  const files: (FileSource | undefined)[] = [];
  const sizes: number[] = [];
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
      channel.signal.removeEventListener("abort", onClosed);
      signal?.removeEventListener("abort", onAbort);
      wakeAll();
    };
    const fail = (error: Error, tellReceiver: boolean) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (tellReceiver) {
        try {
          channel.send(encode(ERR, 0, Buffer.from(error.message)), () => undefined);
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
     * Memory for big files' chunks, given back once the channel has written them out: without
     * it, each 256 KiB chunk of a 1 GiB file is a new buffer, and tens of megabytes of written
     * ones wait for the garbage collector.
     */
    const pool: Buffer[] = [];
    /** A small file's packet, read here and copied out by `channel.send` before the next one. */
    const smallMemory = Buffer.allocUnsafe(DATA_FRAME_OVERHEAD + SMALL_FILE);
    const written = (size: number, memory?: Buffer) => () => {
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
    };
    /**
     * Sends a packet (encoded, or a DATA frame); `true` means wait for {@link room} before sending
     * more. Sends overlap, so many small packets leave in one write instead of one write (and one
     * engine wake-up) each.
     */
    const send = (packet: Uint8Array, frame?: Buffer, memory?: Buffer): boolean => {
      onActivity?.();
      const size = frame?.length ?? packet.length;
      pendingBytes += size;
      pendingPackets++;
      if (frame !== undefined) channel.sendFrame(frame, written(size, memory));
      else channel.send(packet, written(size));
      return pendingBytes > PENDING_BYTES || pendingPackets > PENDING_PACKETS;
    };
    const room = () =>
      settled ? Promise.resolve() : new Promise<void>((wake) => waiters.push(wake));
    const onPacket = (packet: Packet) => {
      if (settled) return;
      onActivity?.();
      switch (packet.type) {
        case REQ:
          requests.push(packet.ID);
          if (!sending) void sendRequested();
          break;
        case FIN:
          send(encode(FIN, 0));
          channel.end();
          finish();
          break;
        case ERR:
          fail(
            new Error(`error from receiver: ${Buffer.from(packet.data).toString("utf8")}`),
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
    const onAbort = () => fail(signal?.reason as Error, true);

    const walk = async () => {
      let deadline = performance.now() + SLICE_MS;
      for (const entry of entries) {
        if (settled) return;
        // One slot per entry, so that a STAT's index is its slot.
        if (entry.type === "file") {
          files.push(
            entry.content !== undefined ? { content: entry.content } : (entry.source ?? null),
          );
          sizes.push(entry.size);
        } else {
          files.push(entry.type === "link" ? null : undefined);
          sizes.push(0);
        }
        stats.entries++;
        if (send(encodeStatPacket(entry))) await room();
        if (performance.now() > deadline) {
          // Lets the engine's REQs and health checks in while a big folder is listed.
          await yieldToLoop();
          deadline = performance.now() + SLICE_MS;
        }
      }
      if (settled) return;
      send(encode(STAT, 0));
    };

    const sendRequested = async () => {
      sending = true;
      try {
        while (!settled) {
          const id = requests.shift();
          if (id === undefined) break;
          const source = files[id];
          if (source === undefined) {
            fail(new Error(`invalid file id ${id}`), true);
            return;
          }
          files[id] = undefined;
          const size = sizes[id] ?? 0;
          stats.files++;
          await sendFile(id, source, size);
        }
      } catch (error) {
        fail(error as Error, true);
      } finally {
        sending = false;
      }
    };

    /** Sends a DATA packet made by `dataFrame`: copied with others if small, else as a frame. */
    const sendData = (frame: Buffer, memory?: Buffer): boolean =>
      memory === smallMemory ? send(frame.subarray(FRAME_HEADER)) : send(EMPTY, frame, memory);

    const sendFile = async (id: number, source: FileSource, size: number) => {
      if (source !== null && typeof source === "object" && "content" in source) {
        const { content } = source;
        const memory = content.length <= SMALL_FILE ? smallMemory : undefined;
        for (let at = 0; at < content.length; at += DATA_CHUNK) {
          const piece = content.subarray(at, at + DATA_CHUNK);
          const { frame, offset } = dataFrame(id, piece.length, memory);
          frame.set(piece, offset);
          stats.bytes += piece.length;
          if (sendData(frame, memory)) await room();
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
              size <= SMALL_FILE
                ? smallMemory
                : want === DATA_CHUNK
                  ? (pool.pop() ?? Buffer.allocUnsafe(CHUNK_MEMORY))
                  : undefined;
            const { frame, offset } = dataFrame(id, want, memory);
            for (let got = 0; got < want; ) {
              const read = nodeFs.readSync(fd, frame, offset + got, want - got, position + got);
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
            if (sendData(frame, memory)) await room();
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
      // The end of the file: an empty DATA packet.
      if (send(encode(DATA, id))) await room();
    };

    channel.listen(onPacket, onClosed);
    channel.signal.addEventListener("abort", onClosed, { once: true });
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
