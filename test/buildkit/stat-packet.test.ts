// The hand-written STAT packet of DiffCopy, checked byte for byte against the generated encoder
// of the sender's packet for statOf's Stat (itself checked against fsutil's decoder in
// diff-copy.test.ts), over every field's edge cases and random entries.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Packet_PacketType } from "../../src/buildkit/generated/github.com/tonistiigi/fsutil/types/wire.js";
import { SenderPacket } from "../../src/buildkit/generated/prefect-dockerutils/fsutil-sender.js";
import { encodeStatPacket, statOf } from "../../src/buildkit/stat-packet.js";
import type { SyncEntry } from "../../src/buildkit/sync-tree.js";

const generated = (entry: SyncEntry) =>
  Buffer.from(
    SenderPacket.encode({
      type: Packet_PacketType.PACKET_STAT,
      stat: statOf(entry),
      ID: 0,
      data: new Uint8Array(0),
    }).finish(),
  );

const handWritten = (entry: SyncEntry) => Buffer.from(encodeStatPacket(entry));

const TYPES = ["file", "directory", "symlink", "link"] as const;

const entries = fc.record({
  name: fc.oneof(fc.string({ minLength: 1 }), fc.string({ unit: "binary", minLength: 1 })),
  nameBytes: fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 }), { nil: undefined }),
  type: fc.constantFrom(...TYPES),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  size: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 53 - 1 })),
  mtimeNs: fc.oneof(
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.bigInt({ min: 0n, max: 2n ** 62n }),
    fc.constant(0n),
  ),
  linkname: fc.option(fc.oneof(fc.string(), fc.string({ unit: "binary" })), { nil: undefined }),
  linknameBytes: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
});

describe("encodeStatPacket", () => {
  it("writes exactly what the generated encoder writes for statOf's Stat", () => {
    fc.assert(
      fc.property(entries, (entry) => {
        expect(handWritten(entry).equals(generated(entry))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ["one-byte varints", { size: 1, mtimeNs: 1n, mode: 0o644 }],
    ["a size at 2^53 - 1", { size: 2 ** 53 - 1, mtimeNs: 1n, mode: 0o644 }],
    ["sizes at every varint length", { size: 2 ** 35 + 127, mtimeNs: 2n ** 56n, mode: 0o644 }],
    ["a time before 1970", { size: 0, mtimeNs: -1n, mode: 0o644 }],
    ["the smallest time", { size: 0, mtimeNs: -(2n ** 63n), mode: 0 }],
    ["the largest time", { size: 0, mtimeNs: 2n ** 63n - 1n, mode: 0o7777 }],
  ])("matches it for %s", (_case, fields) => {
    for (const type of TYPES) {
      const entry: SyncEntry = { name: "a/b", type, linkname: "t", ...fields };
      expect(handWritten(entry).equals(generated(entry))).toBe(true);
    }
  });

  it("matches it for text that is not valid UTF-16 (lone surrogates go out as U+FFFD)", () => {
    const entry: SyncEntry = {
      name: "a\ud800b\udfff",
      type: "symlink",
      mode: 0o777,
      size: 1,
      mtimeNs: 1n,
      linkname: "\udc00",
    };
    expect(handWritten(entry).equals(generated(entry))).toBe(true);
  });

  it("matches it for names of every length class, up to a name longer than its buffer", () => {
    for (const length of [1, 127, 128, 16_383, 16_384, 70_000]) {
      const entry: SyncEntry = {
        name: "é".repeat(length),
        type: "symlink",
        mode: 0o777,
        size: length,
        mtimeNs: 1_700_000_000_123_456_789n,
        linkname: "→".repeat(length),
      };
      expect(handWritten(entry).equals(generated(entry))).toBe(true);
    }
  });

  it("gives bytes that the next call may overwrite: the caller sends them first", () => {
    const first = encodeStatPacket({ name: "a", type: "file", mode: 0o644, size: 1, mtimeNs: 1n });
    const copy = Buffer.from(first);
    encodeStatPacket({ name: "b", type: "file", mode: 0o644, size: 1, mtimeNs: 1n });
    expect(Buffer.from(first).equals(copy)).toBe(false);
  });
});
