/**
 * The second message of the session written by hand: a DiffCopy STAT packet (`fsutil.types.Packet`
 * with `type = PACKET_STAT` and the entry's `Stat`), the one the sender writes for every entry of
 * the context. The generated encoder needs the `Stat` as an object (with a new `Buffer` for the
 * name), encodes it into a nested writer and copies the result out; for the 20,000 entries of a
 * rebuild that was 30 ms of CPU and 8 MiB of garbage of the 15 ms and 1 MiB written here, into
 * one reused buffer. The bytes are exactly the generated encoder's for {@link statOf}'s `Stat`,
 * which test/buildkit/stat-packet.test.ts checks. (The DATA packet is data-frame.ts.)
 * @module
 */
import type { SenderStat } from "./generated/prefect-dockerutils/fsutil-sender.js";
import type { SyncEntry } from "./sync-tree.js";

/** Go's `os.FileMode` type bits. */
const MODE_DIR = 0x80000000;
const MODE_SYMLINK = 0x08000000;
const MODE_SETUID = 0x00800000;
const MODE_SETGID = 0x00400000;
const MODE_STICKY = 0x00100000;
const EMPTY = new Uint8Array(0);

/** Go's `FileMode` of an entry: permission bits, setuid/setgid/sticky and the type bits. */
function goFileMode(entry: SyncEntry): number {
  let mode = entry.mode & 0o777;
  if (entry.mode & 0o4000) mode |= MODE_SETUID;
  if (entry.mode & 0o2000) mode |= MODE_SETGID;
  if (entry.mode & 0o1000) mode |= MODE_STICKY;
  if (entry.type === "directory") mode |= MODE_DIR;
  if (entry.type === "symlink") mode |= MODE_SYMLINK;
  return mode >>> 0;
}

/**
 * An entry's `Stat`, as fsutil makes it: Go's `FileMode` bits, owners 0 like the docker CLI's.
 * What {@link encodeStatPacket} encodes, as an object for the generated codecs.
 */
export function statOf(entry: SyncEntry): SenderStat {
  const linkname = entry.linknameBytes ?? entry.linkname;
  return {
    path: entry.nameBytes ?? Buffer.from(entry.name),
    mode: goFileMode(entry),
    uid: 0,
    gid: 0,
    size: BigInt(entry.type === "directory" || entry.type === "link" ? 0 : entry.size),
    modTime: entry.mtimeNs,
    linkname:
      linkname === undefined || linkname === ""
        ? EMPTY
        : typeof linkname === "string"
          ? Buffer.from(linkname)
          : linkname,
    devmajor: 0n,
    devminor: 0n,
    xattrs: {},
  };
}

/** Field keys: (field number << 3) | wire type. */
const STAT_KEY = (2 << 3) | 2;
const PATH_KEY = (1 << 3) | 2;
const MODE_KEY = (2 << 3) | 0;
const SIZE_KEY = (5 << 3) | 0;
const MOD_TIME_KEY = (6 << 3) | 0;
const LINKNAME_KEY = (7 << 3) | 2;

/** Room for the fields but the two names: keys, lengths and varints at their longest. */
const FIXED = 2 + 5 + (1 + 5) + (1 + 5) + (1 + 10) + (1 + 10) + (1 + 5);

let scratch = Buffer.allocUnsafe(4096);
const int64 = new DataView(new ArrayBuffer(8));

function writeVarint32(target: Buffer, at: number, value: number): number {
  let offset = at;
  let rest = value >>> 0;
  while (rest >= 0x80) {
    target[offset++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  target[offset++] = rest;
  return offset;
}

/** A whole number from 0 to 2^53 as a varint. */
function writeVarintNumber(target: Buffer, at: number, value: number): number {
  let offset = at;
  let rest = value;
  while (rest >= 0x80) {
    target[offset++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  target[offset++] = rest;
  return offset;
}

/** A signed 64-bit value as protobuf's `int64` varint (ten bytes when negative). */
function writeVarintInt64(target: Buffer, at: number, value: bigint): number {
  int64.setBigInt64(0, value, true);
  let low = int64.getUint32(0, true);
  let high = int64.getUint32(4, true);
  let offset = at;
  while (high !== 0 || low >= 0x80) {
    target[offset++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  target[offset++] = low;
  return offset;
}

function varint32Length(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Writes `text` as UTF-8 (or `bytes` as they are) at `at`; resolves to where it ended. */
function writeName(
  target: Buffer,
  at: number,
  text: string,
  bytes: Uint8Array | undefined,
): number {
  if (bytes !== undefined) {
    target.set(bytes, at);
    return at + bytes.length;
  }
  return at + target.write(text, at, "utf8");
}

/**
 * `entry`'s STAT packet, encoded as the generated `SenderPacket.encode` would encode
 * `{ type: PACKET_STAT, stat: statOf(entry) }`. The bytes are valid until the next call: send
 * them (the session copies them) before encoding another.
 */
export function encodeStatPacket(entry: SyncEntry): Uint8Array {
  const { type, name, nameBytes } = entry;
  const mode = goFileMode(entry);
  const linkText = entry.linkname ?? "";
  const linkBytes = entry.linknameBytes;
  const nameLength = nameBytes?.length ?? Buffer.byteLength(name, "utf8");
  const linkLength = linkBytes?.length ?? (linkText === "" ? 0 : Buffer.byteLength(linkText));
  const size = type === "directory" || type === "link" ? 0 : entry.size;
  const room = FIXED + nameLength + linkLength;
  if (scratch.length < room) scratch = Buffer.allocUnsafe(Math.max(room, scratch.length * 2));
  const out = scratch;
  // The Stat's fields first, after room for the packet's key and the Stat's length (at most 5
  // bytes: names are bounded by the file system), then moved up once the length is known.
  const start = 6;
  let at = start;
  if (nameLength !== 0) {
    out[at++] = PATH_KEY;
    at = writeVarint32(out, at, nameLength);
    at = writeName(out, at, name, nameBytes);
  }
  if (mode !== 0) {
    out[at++] = MODE_KEY;
    at = writeVarint32(out, at, mode);
  }
  if (size !== 0) {
    out[at++] = SIZE_KEY;
    at = writeVarintNumber(out, at, size);
  }
  if (entry.mtimeNs !== 0n) {
    out[at++] = MOD_TIME_KEY;
    at = writeVarintInt64(out, at, entry.mtimeNs);
  }
  if (linkLength !== 0) {
    out[at++] = LINKNAME_KEY;
    at = writeVarint32(out, at, linkLength);
    at = writeName(out, at, linkText, linkBytes);
  }
  const statLength = at - start;
  const head = start - 1 - varint32Length(statLength);
  out[head] = STAT_KEY;
  writeVarint32(out, head + 1, statLength);
  return out.subarray(head, at);
}
