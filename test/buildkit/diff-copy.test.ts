// What the DiffCopy sender lists for each entry, as the engine reads it: fsutil's Stat with Go's
// FileMode bits, decoded by the generated decoder of fsutil's own Packet.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Packet,
  Packet_PacketType,
} from "../../src/buildkit/generated/github.com/tonistiigi/fsutil/types/wire.js";
import { SenderPacket } from "../../src/buildkit/generated/prefect-dockerutils/fsutil-sender.js";
import { statOf } from "../../src/buildkit/stat-packet.js";
import type { SyncEntry } from "../../src/buildkit/sync-tree.js";

const STAT = Packet_PacketType.PACKET_STAT;
const encode = (entry: SyncEntry) =>
  SenderPacket.encode({ type: STAT, stat: statOf(entry), ID: 0, data: new Uint8Array(0) }).finish();

describe("statOf", () => {
  it("lists names, sizes, nanosecond times and link targets as fsutil's Stat reads them", () => {
    fc.assert(
      fc.property(
        fc.record({
          name: fc.string({ minLength: 1 }),
          type: fc.constantFrom("file", "directory", "symlink", "link") as fc.Arbitrary<
            SyncEntry["type"]
          >,
          mode: fc.integer({ min: 0, max: 0o7777 }),
          size: fc.integer({ min: 0, max: 2 ** 40 }),
          mtimeNs: fc.bigInt({ min: 0n, max: 2n ** 62n }),
          linkname: fc.option(fc.string(), { nil: undefined }),
        }),
        (entry) => {
          const stat = Packet.decode(encode(entry)).stat;
          // A JS string with lone surrogates is not text: it goes out as UTF-8 with U+FFFD.
          expect(stat?.path).toBe(Buffer.from(entry.name).toString());
          expect(stat?.modTime).toBe(entry.mtimeNs);
          expect(stat?.size).toBe(
            BigInt(entry.type === "directory" || entry.type === "link" ? 0 : entry.size),
          );
          expect(stat?.linkname).toBe(Buffer.from(entry.linkname ?? "").toString());
          expect(stat?.uid).toBe(0);
          expect(stat?.gid).toBe(0);
        },
      ),
    );
  });

  it("sends a name or link target that is not UTF-8 as its bytes", () => {
    const nameBytes = Buffer.from([0x66, 0xff, 0x2e, 0x74, 0x78, 0x74]);
    const linknameBytes = Buffer.from([0xfe, 0x61]);
    const bytes = encode({
      name: nameBytes.toString("latin1"),
      nameBytes,
      type: "symlink",
      mode: 0o777,
      size: 2,
      mtimeNs: 0n,
      linkname: linknameBytes.toString("latin1"),
      linknameBytes,
    });
    // Field 2 (stat) holds field 1 (path) and field 7 (linkname) with the raw bytes.
    expect(bytes.includes(0xff)).toBe(true);
    const text = Buffer.from(bytes);
    expect(text.indexOf(Buffer.concat([Buffer.from([0x0a, 6]), nameBytes]))).toBeGreaterThan(0);
    expect(text.indexOf(Buffer.concat([Buffer.from([0x3a, 2]), linknameBytes]))).toBeGreaterThan(0);
  });

  it("maps permissions and types to Go's os.FileMode bits", () => {
    const base = { name: "x", size: 3, mtimeNs: 0n };
    expect(statOf({ ...base, type: "file", mode: 0o644 }).mode).toBe(0o644);
    expect(statOf({ ...base, type: "directory", mode: 0o755 }).mode).toBe(
      (0x80000000 | 0o755) >>> 0,
    );
    expect(statOf({ ...base, type: "symlink", mode: 0o777 }).mode).toBe(0x08000000 | 0o777);
    expect(statOf({ ...base, type: "file", mode: 0o4755 }).mode).toBe(0x00800000 | 0o755);
    expect(statOf({ ...base, type: "file", mode: 0o2755 }).mode).toBe(0x00400000 | 0o755);
    expect(statOf({ ...base, type: "directory", mode: 0o1777 }).mode).toBe(
      (0x80000000 | 0x00100000 | 0o777) >>> 0,
    );
    // Folders and hard links carry no size; owners are always root, as the CLI sends them.
    expect(statOf({ ...base, type: "directory", mode: 0o755 }).size).toBe(0n);
    expect(statOf({ ...base, type: "link", mode: 0o644, linkname: "a" })).toMatchObject({
      size: 0n,
      linkname: Buffer.from("a"),
      uid: 0,
      gid: 0,
    });
  });
});
