// The one hand-written message of the session, a DiffCopy DATA packet framed in place, checked
// byte for byte against the generated encoders (fsutil's Packet and the sender's view of it).
import { describe, expect, it } from "vitest";
import { DATA_FRAME_OVERHEAD, dataFrame, FRAME_HEADER } from "../../src/buildkit/data-frame.js";
import {
  Packet,
  Packet_PacketType,
} from "../../src/buildkit/generated/github.com/tonistiigi/fsutil/types/wire.js";
import { SenderPacket } from "../../src/buildkit/generated/prefect-dockerutils/fsutil-sender.js";

/** Varint size classes: every length of encoding from 1 to 5 bytes, at both ends. */
const IDS = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 32 - 1];
const LENGTHS = [0, 1, 127, 128, 16_383, 16_384, 256 * 1024];

describe("dataFrame", () => {
  it.each(IDS.flatMap((id) => LENGTHS.map((length) => [id, length])))(
    "writes DATA for file %i with %i bytes exactly as the generated encoder does",
    (id, length) => {
      const content = Buffer.alloc(length);
      for (let index = 0; index < length; index++) content[index] = (index * 31 + id) & 0xff;
      const { frame, offset } = dataFrame(id, length);
      content.copy(frame, offset);
      const message = {
        type: Packet_PacketType.PACKET_DATA,
        stat: undefined,
        ID: id,
        data: content,
      };
      const generated = Buffer.from(Packet.encode(message).finish());
      expect(frame.subarray(FRAME_HEADER).equals(generated)).toBe(true);
      expect(Buffer.from(SenderPacket.encode(message).finish()).equals(generated)).toBe(true);
      expect(frame.length).toBe(FRAME_HEADER + generated.length);
      expect(frame.length - length).toBeLessThanOrEqual(DATA_FRAME_OVERHEAD);
    },
  );

  it("uses the memory it is given when it is big enough, and no more of it", () => {
    const memory = Buffer.alloc(DATA_FRAME_OVERHEAD + 1024);
    const { frame } = dataFrame(5, 1000, memory);
    expect(frame.buffer).toBe(memory.buffer);
    expect(frame.byteOffset).toBe(memory.byteOffset);
    expect(dataFrame(5, 2000, memory).frame.buffer).not.toBe(memory.buffer);
  });
});
