/**
 * DiffCopy's small packets (a STAT per entry, a small file's content, the empty DATA that ends a
 * file), encoded by hand and framed for gRPC straight into one buffer, to leave in one write.
 * Through protobufjs and one write each, the 20,000 STAT packets of a 20,000-file context cost a
 * writer, a buffer, a frame, a stream write and its callback apiece: about a third of the
 * sender's CPU time and most of its garbage, which made V8's young generation (and so the
 * process's memory) grow. The bytes are those of `Messages.encodePacket` (a unit test compares
 * them), each after gRPC's 5-byte message header.
 * @module
 */
import type { SyncEntry } from "./sync-tree.js";

/** Go's `os.FileMode` type bits. */
const MODE_DIR = 0x80000000;
const MODE_SYMLINK = 0x08000000;
const MODE_SETUID = 0x00800000;
const MODE_SETGID = 0x00400000;
const MODE_STICKY = 0x00100000;

/** `Packet.type` of a DATA packet (STAT is 0, which protobuf leaves out). */
const DATA = 2;

/** gRPC's message header: a compression flag and a 32-bit big-endian length. */
export const FRAME_HEADER = 5;

/** Go's `os.FileMode` of an entry, as fsutil's `Stat.mode` has it. */
export function goFileMode(entry: Pick<SyncEntry, "type" | "mode">): number {
  let mode = entry.mode & 0o777;
  if (entry.mode & 0o4000) mode |= MODE_SETUID;
  if (entry.mode & 0o2000) mode |= MODE_SETGID;
  if (entry.mode & 0o1000) mode |= MODE_STICKY;
  if (entry.type === "directory") mode |= MODE_DIR;
  if (entry.type === "symlink") mode |= MODE_SYMLINK;
  return mode >>> 0;
}

/** Bytes of `value` (a whole number below 2^53) as a protobuf varint. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Bytes of a 64-bit value, given as its two 32-bit halves, as a varint (protobufjs's sum). */
function varint64Size(low: number, high: number): number {
  const part0 = low >>> 0;
  const part1 = ((low >>> 28) | (high << 4)) >>> 0;
  const part2 = high >>> 24;
  if (part2 !== 0) return part2 < 128 ? 9 : 10;
  if (part1 !== 0) return part1 < 16384 ? (part1 < 128 ? 5 : 6) : part1 < 2097152 ? 7 : 8;
  return part0 < 16384 ? (part0 < 128 ? 1 : 2) : part0 < 2097152 ? 3 : 4;
}

/**
 * A growing run of framed packets. Add packets, then {@link FrameBatch.take} the bytes and send
 * them as they are; the batch starts again empty.
 */
export class FrameBatch {
  #buffer: Buffer;
  #length = 0;
  #packets = 0;
  /** Where the last packet added starts. */
  #last = 0;

  /** @param capacity - initial room in bytes; the batch grows past it when it must. */
  constructor(capacity = 64 * 1024) {
    this.#buffer = Buffer.allocUnsafe(capacity);
  }

  /** Bytes waiting to be taken. */
  get length(): number {
    return this.#length;
  }

  /** Packets waiting to be taken. */
  get packets(): number {
    return this.#packets;
  }

  /** The framed packets added since the last call, or `undefined` if none. */
  take(): Buffer | undefined {
    if (this.#length === 0) return undefined;
    const frames = this.#buffer.subarray(0, this.#length);
    // The taken bytes belong to the write now: continue in fresh memory of the same size.
    this.#buffer = Buffer.allocUnsafe(this.#buffer.length);
    this.#length = 0;
    this.#packets = 0;
    return frames;
  }

  /** Adds the STAT packet of `entry`: `Packet{ stat: Stat{...} }` as fsutil's sender makes it. */
  addStat(entry: SyncEntry): void {
    const path = entry.nameBytes ?? entry.name;
    const pathSize = typeof path === "string" ? Buffer.byteLength(path) : path.length;
    const linkname = entry.linknameBytes ?? entry.linkname ?? "";
    const linkSize = typeof linkname === "string" ? Buffer.byteLength(linkname) : linkname.length;
    const mode = goFileMode(entry);
    const size = entry.type === "directory" || entry.type === "link" ? 0 : entry.size;
    const ns = BigInt.asUintN(64, entry.mtimeNs);
    const low = Number(ns & 0xffffffffn);
    const high = Number(ns >> 32n);

    let statSize = 0;
    if (pathSize > 0) statSize += 1 + varintSize(pathSize) + pathSize;
    if (mode !== 0) statSize += 1 + varintSize(mode);
    if (size !== 0) statSize += 1 + varintSize(size);
    if (low !== 0 || high !== 0) statSize += 1 + varint64Size(low, high);
    if (linkSize > 0) statSize += 1 + varintSize(linkSize) + linkSize;
    const packetSize = 1 + varintSize(statSize) + statSize;

    const buffer = this.#room(FRAME_HEADER + packetSize);
    let at = this.#frameHeader(buffer, packetSize);
    buffer[at++] = 0x12;
    at = writeVarint(buffer, at, statSize);
    if (pathSize > 0) {
      buffer[at++] = 0x0a;
      at = writeVarint(buffer, at, pathSize);
      at += typeof path === "string" ? buffer.write(path, at, pathSize) : copy(buffer, at, path);
    }
    if (mode !== 0) {
      buffer[at++] = 0x10;
      at = writeVarint(buffer, at, mode);
    }
    if (size !== 0) {
      buffer[at++] = 0x28;
      at = writeVarint(buffer, at, size);
    }
    if (low !== 0 || high !== 0) {
      buffer[at++] = 0x30;
      at = writeVarint64(buffer, at, low, high);
    }
    if (linkSize > 0) {
      buffer[at++] = 0x3a;
      at = writeVarint(buffer, at, linkSize);
      at +=
        typeof linkname === "string"
          ? buffer.write(linkname, at, linkSize)
          : copy(buffer, at, linkname);
    }
    this.#length = at;
    this.#packets++;
  }

  /** Adds the end of STATs: an empty STAT packet (`Packet{}`, no bytes). */
  addEndOfStats(): void {
    const buffer = this.#room(FRAME_HEADER);
    this.#length = this.#frameHeader(buffer, 0);
    this.#packets++;
  }

  /**
   * Adds a DATA packet for file `id` with room for `length` bytes of content, and returns where
   * the content goes: the caller fills `buffer[offset, offset + length)` before the next call.
   * `length` 0 is the empty DATA that ends the file.
   */
  addData(id: number, length: number): { buffer: Buffer; offset: number } {
    let packetSize = 2;
    if (id !== 0) packetSize += 1 + varintSize(id);
    if (length > 0) packetSize += 1 + varintSize(length) + length;
    const buffer = this.#room(FRAME_HEADER + packetSize);
    let at = this.#frameHeader(buffer, packetSize);
    buffer[at++] = 0x08;
    buffer[at++] = DATA;
    if (id !== 0) {
      buffer[at++] = 0x18;
      at = writeVarint(buffer, at, id);
    }
    if (length > 0) {
      buffer[at++] = 0x22;
      at = writeVarint(buffer, at, length);
    }
    this.#length = at + length;
    this.#packets++;
    return { buffer, offset: at };
  }

  /**
   * Takes the last packet added back out, e.g. a DATA packet whose content could not be read:
   * its memory must never be sent.
   */
  dropLast(): void {
    if (this.#packets === 0) return;
    this.#length = this.#last;
    this.#packets--;
  }

  /** Writes gRPC's header for a message of `size` bytes at the end; returns where it goes on. */
  #frameHeader(buffer: Buffer, size: number): number {
    const at = this.#length;
    this.#last = at;
    buffer[at] = 0;
    buffer.writeUInt32BE(size, at + 1);
    return at + FRAME_HEADER;
  }

  /** The buffer, with room for `size` more bytes. */
  #room(size: number): Buffer {
    const needed = this.#length + size;
    if (needed > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.#buffer.length * 2));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    return this.#buffer;
  }
}

/**
 * One DATA packet in memory of its own (for a big file's chunks), with room for `length` bytes of
 * content at the returned offset, so the content is read straight into the message that goes on
 * the wire. The first {@link FRAME_HEADER} bytes are left for gRPC's header. `memory`, when big
 * enough, is used instead of new memory.
 */
export function dataPacket(
  id: number,
  length: number,
  memory?: Buffer,
): { packet: Buffer; offset: number } {
  const header = 2 + (id ? 1 + varintSize(id) : 0) + 1 + varintSize(length);
  const size = FRAME_HEADER + header + length;
  const packet =
    memory !== undefined && memory.length >= size
      ? memory.subarray(0, size)
      : Buffer.allocUnsafe(size);
  packet[FRAME_HEADER] = 0x08;
  packet[FRAME_HEADER + 1] = DATA;
  let at = FRAME_HEADER + 2;
  if (id) {
    packet[at++] = 0x18;
    at = writeVarint(packet, at, id);
  }
  packet[at++] = 0x22;
  at = writeVarint(packet, at, length);
  return { packet, offset: at };
}

function copy(target: Buffer, at: number, bytes: Uint8Array): number {
  target.set(bytes, at);
  return bytes.length;
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

/** A 64-bit varint from its two 32-bit halves, as protobufjs's `LongBits.writeVarint64`. */
function writeVarint64(target: Buffer, at: number, low: number, high: number): number {
  let offset = at;
  let lo = low >>> 0;
  let hi = high >>> 0;
  while (hi !== 0) {
    target[offset++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo >= 0x80) {
    target[offset++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  target[offset++] = lo;
  return offset;
}
