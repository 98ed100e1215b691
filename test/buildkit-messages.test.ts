// The protobuf codecs of the BuildKit session and trace, checked against protobufjs's reflection
// (from a .proto with BuildKit's field numbers) and against traces recorded from the engine.
import { readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { statOf } from "../src/buildkit/diff-copy.js";
import { loadMessages, PacketType } from "../src/buildkit/messages.js";

// BuildKit's and fsutil's own definitions, parsed by protobufjs: the reference the hand-written
// codecs must agree with.
const reference = protobuf.parse(`
syntax = "proto3";
package ref;
message Stat { string path = 1; uint32 mode = 2; uint32 uid = 3; uint32 gid = 4; int64 size = 5;
  int64 modTime = 6; string linkname = 7; int64 devmajor = 8; int64 devminor = 9;
  map<string, bytes> xattrs = 10; }
message Packet { int32 type = 1; Stat stat = 2; uint32 ID = 3; bytes data = 4; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message Vertex { string digest = 1; repeated string inputs = 2; string name = 3; bool cached = 4;
  Timestamp started = 5; Timestamp completed = 6; string error = 7; }
message VertexStatus { string ID = 1; string vertex = 2; string name = 3; int64 current = 4;
  int64 total = 5; Timestamp timestamp = 6; Timestamp started = 7; Timestamp completed = 8; }
message VertexLog { string vertex = 1; Timestamp timestamp = 2; int64 stream = 3; bytes msg = 4; }
message VertexWarning { string vertex = 1; int64 level = 2; bytes short = 3; }
message StatusResponse { repeated Vertex vertexes = 1; repeated VertexStatus statuses = 2;
  repeated VertexLog logs = 3; repeated VertexWarning warnings = 4; }
message CredentialsResponse { string Username = 1; string Secret = 2; }
message GetSecretRequest { string ID = 1; map<string, string> annotations = 2; }
`).root;
const Packet = reference.lookupType("ref.Packet");
const StatusResponse = reference.lookupType("ref.StatusResponse");

const messages = await loadMessages();

const recordedTraces = (name: string): Buffer[] =>
  readFileSync(
    path.resolve(import.meta.dirname, "fixtures/engine-streams", `${name}.jsonl`),
    "utf8",
  )
    .split("\n")
    .filter((line) => line.includes('"moby.buildkit.trace"'))
    .map((line) => Buffer.from((JSON.parse(line) as { aux: string }).aux, "base64"));

describe("fsutil packets", () => {
  it("encodes STAT packets as protobufjs does, nanosecond times included", () => {
    fc.assert(
      fc.property(
        fc.record({
          name: fc.string({ minLength: 1 }),
          type: fc.constantFrom("file", "directory", "symlink", "link") as fc.Arbitrary<
            "file" | "directory" | "symlink" | "link"
          >,
          mode: fc.integer({ min: 0, max: 0o7777 }),
          size: fc.integer({ min: 0, max: 2 ** 40 }),
          mtimeNs: fc.bigInt({ min: 0n, max: 2n ** 62n }),
          linkname: fc.option(fc.string(), { nil: undefined }),
        }),
        (entry) => {
          const stat = statOf(entry);
          const ours = messages.encodePacket({ type: PacketType.STAT, stat, id: 0 });
          const theirs = Packet.toObject(Packet.decode(ours), { longs: String });
          expect(theirs.stat.path).toBe(entry.name);
          expect(theirs.stat.mode ?? 0).toBe(stat.mode);
          expect(BigInt(theirs.stat.modTime ?? 0)).toBe(entry.mtimeNs);
          expect(Number(theirs.stat.size ?? 0)).toBe(stat.size);
          expect(theirs.stat.linkname ?? "").toBe(entry.linkname ?? "");
          expect(messages.decodePacket(ours).stat).toEqual(stat);
        },
      ),
    );
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
    expect(statOf({ ...base, type: "directory", mode: 0o755 }).size).toBe(0);
    expect(statOf({ ...base, type: "link", mode: 0o644, linkname: "a" })).toMatchObject({
      size: 0,
      linkname: "a",
      uid: 0,
      gid: 0,
    });
  });

  it("decodes the receiver's REQ, FIN and ERR packets", () => {
    for (const packet of [
      { type: PacketType.REQ, ID: 7 },
      { type: PacketType.FIN },
      { type: PacketType.ERR, data: Buffer.from("disk full") },
    ]) {
      const bytes = Packet.encode(Packet.fromObject(packet)).finish();
      const decoded = messages.decodePacket(bytes);
      expect(decoded.type).toBe(packet.type);
      expect(decoded.id).toBe(packet.ID ?? 0);
      expect(Buffer.from(decoded.data ?? []).toString()).toBe(packet.data?.toString() ?? "");
    }
  });
});

describe("session messages", () => {
  it("reads the ID of a GetSecretRequest, skipping its annotations", () => {
    const Request = reference.lookupType("ref.GetSecretRequest");
    const bytes = Request.encode(
      Request.fromObject({ ID: "npmrc", annotations: { a: "b", c: "d" } }),
    ).finish();
    expect(messages.decodeFirstString(bytes)).toEqual({ value: "npmrc" });
    // An empty request still decodes to an object: grpc-js takes a falsy one for none at all.
    expect(messages.decodeFirstString(new Uint8Array(0))).toEqual({ value: "" });
  });

  it("writes CredentialsResponse and BytesMessage as protobufjs reads them", () => {
    const Credentials = reference.lookupType("ref.CredentialsResponse");
    expect(
      Credentials.toObject(Credentials.decode(messages.encodeCredentials("u", "p+a/s=s\"w'ö€rd?"))),
    ).toEqual({ Username: "u", Secret: "p+a/s=s\"w'ö€rd?" });
    const data = Buffer.from([0, 1, 2, 255]);
    expect(Buffer.from(messages.decodeBytes(messages.encodeBytes(data)))).toEqual(data);
    expect(messages.encodeEmpty().length).toBe(0);
  });
});

describe("trace messages", () => {
  it("decodes recorded traces exactly as protobufjs's reflection does, log bytes as bytes", () => {
    const traces = [
      ...recordedTraces("buildkit-succeeds"),
      ...recordedTraces("buildkit-run-fails"),
    ];
    expect(traces.length).toBeGreaterThan(10);
    for (const bytes of traces) {
      const ours = messages.decodeStatusResponse(bytes);
      const theirs = StatusResponse.toObject(StatusResponse.decode(bytes), {
        longs: Number,
        arrays: true,
        defaults: true,
      });
      const ms = (t?: { seconds: number; nanos: number } | null) =>
        t ? t.seconds * 1000 + t.nanos / 1e6 : undefined;
      expect(ours.vertexes).toEqual(
        theirs.vertexes.map((v: Record<string, never>) => ({
          digest: v.digest,
          inputs: v.inputs,
          name: v.name,
          cached: v.cached,
          started: ms(v.started),
          completed: ms(v.completed),
          error: v.error,
        })),
      );
      expect(ours.statuses.map((s) => [s.id, s.vertex, s.current, s.total])).toEqual(
        theirs.statuses.map((s: Record<string, never>) => [s.ID, s.vertex, s.current, s.total]),
      );
      expect(ours.logs.map((l) => [l.vertex, l.stream, Buffer.from(l.msg)])).toEqual(
        theirs.logs.map((l: { vertex: string; stream: number; msg: Uint8Array }) => [
          l.vertex,
          l.stream,
          Buffer.from(l.msg),
        ]),
      );
    }
  });

  it("skips fields it does not know, such as the warnings of newer engines", () => {
    const bytes = StatusResponse.encode(
      StatusResponse.fromObject({
        vertexes: [{ digest: "sha256:1", name: "[1/1] RUN x", cached: true }],
        warnings: [{ vertex: "sha256:1", level: 1, short: Buffer.from("careful") }],
      }),
    ).finish();
    const decoded = messages.decodeStatusResponse(bytes);
    expect(decoded.vertexes).toMatchObject([
      { digest: "sha256:1", name: "[1/1] RUN x", cached: true },
    ]);
    expect(decoded.statuses).toEqual([]);
  });
});
