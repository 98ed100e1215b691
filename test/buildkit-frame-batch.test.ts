// DiffCopy's hand-encoded packets (frame-batch.ts) against the protobufjs encoding they replace:
// the same bytes, each after gRPC's 5-byte message header.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { statOf } from "../src/buildkit/diff-copy.js";
import { dataPacket, FRAME_HEADER, FrameBatch } from "../src/buildkit/frame-batch.js";
import { loadMessages, type Packet, PacketType } from "../src/buildkit/messages.js";
import type { SyncEntry } from "../src/buildkit/sync-tree.js";

const messages = await loadMessages();

/** `packet` as protobufjs encodes it, framed for gRPC. */
function framed(packet: Packet): Buffer {
  const body = messages.encodePacket(packet);
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

const bytesOrText = (text: fc.Arbitrary<string>) =>
  fc.oneof(
    text,
    fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
  );

const entries: fc.Arbitrary<SyncEntry> = fc
  .record({
    name: bytesOrText(fc.string({ minLength: 1, maxLength: 300 })),
    type: fc.constantFrom("file", "directory", "symlink", "link") as fc.Arbitrary<
      SyncEntry["type"]
    >,
    mode: fc.integer({ min: 0, max: 0o7777 }),
    size: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 53 - 1 })),
    mtimeNs: fc.oneof(fc.constant(0n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
    linkname: fc.option(bytesOrText(fc.string({ maxLength: 300 })), { nil: undefined }),
  })
  .map(({ name, linkname, ...rest }) => ({
    ...rest,
    name: typeof name === "string" ? name : "bytes",
    nameBytes: typeof name === "string" ? undefined : name,
    linkname: typeof linkname === "string" ? linkname : undefined,
    linknameBytes: typeof linkname === "string" ? undefined : linkname,
  }));

describe("FrameBatch", () => {
  it("frames STAT packets byte for byte as protobufjs encodes them", () => {
    fc.assert(
      fc.property(fc.array(entries, { minLength: 1, maxLength: 20 }), (list) => {
        const batch = new FrameBatch(16);
        for (const entry of list) batch.addStat(entry);
        batch.addEndOfStats();
        const expected = Buffer.concat([
          ...list.map((entry) => framed({ type: PacketType.STAT, stat: statOf(entry), id: 0 })),
          framed({ type: PacketType.STAT, id: 0 }),
        ]);
        expect(batch.packets).toBe(list.length + 1);
        expect(batch.take()).toEqual(expected);
        expect(batch.take()).toBeUndefined();
      }),
    );
  });

  it("frames DATA packets, the empty one that ends a file included, as protobufjs does", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
            data: fc.uint8Array({ maxLength: 300 }),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        (packets) => {
          const batch = new FrameBatch(8);
          for (const { id, data } of packets) {
            const { buffer, offset } = batch.addData(id, data.length);
            buffer.set(data, offset);
          }
          const expected = Buffer.concat(
            packets.map(({ id, data }) =>
              framed({
                type: PacketType.DATA,
                id,
                ...(data.length > 0 ? { data: Buffer.from(data) } : {}),
              }),
            ),
          );
          expect(batch.take()).toEqual(expected);
        },
      ),
    );
  });

  it("drops the last packet added, whose content could not be read", () => {
    const batch = new FrameBatch();
    batch.addStat({ name: "a", type: "file", mode: 0o644, size: 3, mtimeNs: 1n });
    const before = Buffer.from(batch.take() ?? []);
    batch.addStat({ name: "a", type: "file", mode: 0o644, size: 3, mtimeNs: 1n });
    batch.addData(1, 3);
    batch.dropLast();
    expect(batch.packets).toBe(1);
    expect(batch.take()).toEqual(before);
  });

  it("makes a big file's DATA packet as protobufjs does, after room for the frame header", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.uint8Array({ minLength: 1, maxLength: 2000 }),
        (id, data) => {
          const { packet, offset } = dataPacket(id, data.length);
          packet.set(data, offset);
          expect(packet.subarray(FRAME_HEADER)).toEqual(
            messages.encodePacket({ type: PacketType.DATA, id, data: Buffer.from(data) }),
          );
        },
      ),
    );
  });
});
