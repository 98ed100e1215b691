/**
 * The one session message written by hand: a DiffCopy DATA packet (`fsutil.types.Packet`), laid
 * out so that file content is read straight into the buffer that goes on the wire. The generated
 * encoder and the gRPC framing would each copy it (2 GiB of copies for a 1 GiB context). The bytes
 * are exactly the generated encoder's (test/buildkit/data-frame.test.ts).
 * @module
 */

/** Bytes before an encoded message, for gRPC's prefix (a compression flag and a 32-bit length). */
export const FRAME_HEADER = 5;

/** `Packet.PacketType.PACKET_DATA`. */
const PACKET_DATA = 2;
/** Field keys: (field number << 3) | wire type. */
const TYPE_KEY = (1 << 3) | 0;
const ID_KEY = (3 << 3) | 0;
const DATA_KEY = (4 << 3) | 2;

/** Bytes of `value` (below 2^32) as a protobuf varint. */
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

/** Room the fields before the content take at most: type, ID and the content's length. */
export const DATA_FRAME_OVERHEAD = FRAME_HEADER + 2 + 6 + 6;

/**
 * A DATA packet for file `id` with room for `length` bytes of content at the returned `offset`,
 * after {@link FRAME_HEADER} free bytes, in `memory` when it is big enough. An empty packet
 * (`length` 0) ends the file, as fsutil sends it.
 */
export function dataFrame(
  id: number,
  length: number,
  memory?: Buffer,
): { frame: Buffer; offset: number } {
  const fields =
    2 + (id ? 1 + varintLength(id) : 0) + (length ? 1 + varintLength(length) : 0) + length;
  const size = FRAME_HEADER + fields;
  const frame =
    memory !== undefined && memory.length >= size
      ? memory.subarray(0, size)
      : Buffer.allocUnsafe(size);
  let at = FRAME_HEADER;
  frame[at++] = TYPE_KEY;
  frame[at++] = PACKET_DATA;
  if (id) {
    frame[at++] = ID_KEY;
    at = writeVarint(frame, at, id);
  }
  if (length) {
    frame[at++] = DATA_KEY;
    at = writeVarint(frame, at, length);
  }
  return { frame, offset: at };
}
