/**
 * The protobuf messages of a BuildKit session and its progress trace, encoded and decoded with
 * protobufjs's wire reader and writer. Only the fields this library uses are read; every other
 * field is skipped, as protobuf requires. The schema, with BuildKit's own field numbers:
 *
 * ```proto
 * // fsutil/types (stat.proto, wire.proto): the DiffCopy packets, sent raw over FileSync/DiffCopy
 * message Stat { string path = 1; uint32 mode = 2; uint32 uid = 3; uint32 gid = 4; int64 size = 5;
 *   int64 modTime = 6; string linkname = 7; int64 devmajor = 8; int64 devminor = 9; }
 * message Packet { PacketType type = 1; Stat stat = 2; uint32 ID = 3; bytes data = 4; }
 * enum PacketType { STAT = 0; REQ = 1; DATA = 2; FIN = 3; ERR = 4; }
 * // grpc.health.v1
 * message HealthCheckRequest { string service = 1; }
 * message HealthCheckResponse { ServingStatus status = 1; }   // SERVING = 1
 * // moby.filesync.v1.Auth
 * message CredentialsRequest { string Host = 1; }
 * message CredentialsResponse { string Username = 1; string Secret = 2; }
 * // moby.buildkit.secrets.v1
 * message GetSecretRequest { string ID = 1; map<string, string> annotations = 2; }
 * message GetSecretResponse { bytes data = 1; }
 * // moby.sshforward.v1
 * message BytesMessage { bytes data = 1; }
 * message CheckAgentRequest { string ID = 1; }
 * message CheckAgentResponse {}
 * // moby.buildkit.v1 (control.proto): the `moby.buildkit.trace` aux messages of a build
 * message StatusResponse { repeated Vertex vertexes = 1; repeated VertexStatus statuses = 2;
 *   repeated VertexLog logs = 3; }
 * message Vertex { string digest = 1; repeated string inputs = 2; string name = 3; bool cached = 4;
 *   Timestamp started = 5; Timestamp completed = 6; string error = 7; }
 * message VertexStatus { string ID = 1; string vertex = 2; string name = 3; int64 current = 4;
 *   int64 total = 5; Timestamp timestamp = 6; Timestamp started = 7; Timestamp completed = 8; }
 * message VertexLog { string vertex = 1; Timestamp timestamp = 2; int64 stream = 3; bytes msg = 4; }
 * message Timestamp { int64 seconds = 1; int32 nanos = 2; }   // google.protobuf.Timestamp
 * ```
 *
 * The codecs are written in the shape protobufjs's static code generator emits, against its
 * `minimal` runtime: the reflection runtime would add about 20 ms to the first build of a process
 * and nothing else, and these messages are few and frozen.
 *
 * Over 400 lines on purpose: it is the one place the wire schema above lives, a codec per message
 * in the same order, so that a field number is checked against BuildKit's in one read.
 * @module
 */
import type * as Protobuf from "protobufjs/minimal.js";

/** The protobufjs runtime, as its CommonJS exports. */
type ProtobufModule = (typeof Protobuf)["default"];

/** fsutil's packet types. */
export const PacketType = { STAT: 0, REQ: 1, DATA: 2, FIN: 3, ERR: 4 } as const;

/** fsutil's `Stat`: one file, folder or link of a synced directory. */
export interface Stat {
  /** The path; bytes for a name that is not UTF-8 (Go strings hold any bytes). */
  readonly path: string | Uint8Array;
  /** Go's `os.FileMode` bits: permissions plus type bits such as `ModeDir`. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly modTimeNs: bigint;
  readonly linkname: string | Uint8Array;
}

/** fsutil's `Packet`. */
export interface Packet {
  readonly type: number;
  readonly stat?: Stat | undefined;
  readonly id: number;
  readonly data?: Uint8Array | undefined;
}

/** A protobuf `Timestamp` as milliseconds since the epoch (BuildKit's are nanosecond exact). */
export type TimestampMs = number;

/** BuildKit's `Vertex`: one step of the build graph. */
export interface TraceVertex {
  readonly digest: string;
  readonly inputs: string[];
  readonly name: string;
  readonly cached: boolean;
  readonly started: TimestampMs | undefined;
  readonly completed: TimestampMs | undefined;
  readonly error: string;
}

/** BuildKit's `VertexStatus`: progress of a sub-task of a vertex. */
export interface TraceStatus {
  readonly id: string;
  readonly vertex: string;
  readonly name: string;
  readonly current: number;
  readonly total: number;
  readonly timestamp: TimestampMs | undefined;
  readonly started: TimestampMs | undefined;
  readonly completed: TimestampMs | undefined;
}

/** BuildKit's `VertexLog`: bytes a vertex wrote to stdout (1) or stderr (2). */
export interface TraceLog {
  readonly vertex: string;
  readonly timestamp: TimestampMs | undefined;
  readonly stream: number;
  readonly msg: Uint8Array;
}

/** BuildKit's `StatusResponse`, the payload of each `moby.buildkit.trace` message. */
export interface StatusResponse {
  readonly vertexes: TraceVertex[];
  readonly statuses: TraceStatus[];
  readonly logs: TraceLog[];
}

/** The codecs, once protobufjs is loaded. */
export interface Messages {
  encodePacket(packet: Packet): Buffer;
  decodePacket(bytes: Uint8Array): Packet;
  /** A message with one `bytes` field 1 (`BytesMessage`, `GetSecretResponse`). */
  encodeBytes(data: Uint8Array): Buffer;
  decodeBytes(bytes: Uint8Array): Uint8Array;
  /**
   * A message whose field 1 is a string (`CredentialsRequest.Host`, `GetSecretRequest.ID`, ...).
   * An object, never a bare string: grpc-js takes a falsy request (`""`) for a missing one.
   */
  decodeFirstString(bytes: Uint8Array): { readonly value: string };
  /** Any message, fields ignored. */
  decodeNothing(bytes: Uint8Array): Record<string, never>;
  /** An empty message. */
  encodeEmpty(): Buffer;
  /** `HealthCheckResponse { status }`. */
  encodeHealth(status: number): Buffer;
  /** `CredentialsResponse { Username, Secret }`. */
  encodeCredentials(username: string, secret: string): Buffer;
  decodeStatusResponse(bytes: Uint8Array): StatusResponse;
}

type Reader = Protobuf.Reader;
type Writer = Protobuf.Writer;
type LongLike = number | { toNumber(): number } | { low: number; high: number };

let loading: Promise<Messages> | undefined;

/** Loads protobufjs (at first use only) and returns the codecs. */
export function loadMessages(): Promise<Messages> {
  // protobufjs is CommonJS: Node gives its exports as the default export (some loaders as the
  // namespace itself).
  loading ??= import("protobufjs/minimal.js").then((module) =>
    makeMessages(
      (module.default as ProtobufModule | undefined) ?? (module as unknown as ProtobufModule),
    ),
  );
  return loading;
}

function toBigInt(value: LongLike): bigint {
  if (typeof value === "number") return BigInt(value);
  if ("low" in value) {
    return BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0));
  }
  return BigInt(value.toNumber());
}

function toNumber(value: LongLike): number {
  if (typeof value === "number") return value;
  if ("toNumber" in value) return value.toNumber();
  return value.high * 2 ** 32 + (value.low >>> 0);
}

function makeMessages(protobuf: ProtobufModule): Messages {
  const { Reader, Writer } = protobuf;
  const int64 = (reader: Reader) => toNumber(reader.int64() as LongLike);

  const timestamp = (reader: Reader, end: number): TimestampMs => {
    let seconds = 0;
    let nanos = 0;
    while (reader.pos < end) {
      const tag = reader.uint32();
      if (tag >>> 3 === 1) seconds = int64(reader);
      else if (tag >>> 3 === 2) nanos = reader.int32();
      else reader.skipType(tag & 7);
    }
    return seconds * 1000 + nanos / 1e6;
  };
  const nested = <T>(reader: Reader, read: (reader: Reader, end: number) => T): T => {
    const end = reader.uint32() + reader.pos;
    return read(reader, end);
  };

  const writeStat = (writer: Writer, stat: Stat) => {
    // A string field's wire format is its bytes: names that are not UTF-8 go as they are.
    if (typeof stat.path === "string") {
      if (stat.path) writer.uint32(10).string(stat.path);
    } else if (stat.path.length) writer.uint32(10).bytes(stat.path);
    if (stat.mode) writer.uint32(16).uint32(stat.mode);
    if (stat.uid) writer.uint32(24).uint32(stat.uid);
    if (stat.gid) writer.uint32(32).uint32(stat.gid);
    if (stat.size) writer.uint32(40).int64(stat.size);
    if (stat.modTimeNs) {
      // A nanosecond time needs 61 bits, beyond a double's 53: hand protobufjs its two halves.
      const ns = BigInt.asUintN(64, stat.modTimeNs);
      writer.uint32(48).int64({
        low: Number(ns & 0xffffffffn),
        high: Number(ns >> 32n),
        unsigned: false,
      } as unknown as number);
    }
    if (typeof stat.linkname === "string") {
      if (stat.linkname) writer.uint32(58).string(stat.linkname);
    } else if (stat.linkname.length) writer.uint32(58).bytes(stat.linkname);
  };

  const readStat = (reader: Reader, end: number): Stat => {
    const stat: { -readonly [K in keyof Stat]: Stat[K] } = {
      path: "",
      mode: 0,
      uid: 0,
      gid: 0,
      size: 0,
      modTimeNs: 0n,
      linkname: "",
    };
    while (reader.pos < end) {
      const tag = reader.uint32();
      switch (tag >>> 3) {
        case 1:
          stat.path = reader.string();
          break;
        case 2:
          stat.mode = reader.uint32();
          break;
        case 3:
          stat.uid = reader.uint32();
          break;
        case 4:
          stat.gid = reader.uint32();
          break;
        case 5:
          stat.size = int64(reader);
          break;
        case 6:
          stat.modTimeNs = toBigInt(reader.int64() as LongLike);
          break;
        case 7:
          stat.linkname = reader.string();
          break;
        default:
          reader.skipType(tag & 7);
      }
    }
    return stat;
  };

  const firstString = (bytes: Uint8Array): { value: string } => {
    const reader = Reader.create(bytes);
    let value = "";
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag === 10) value = reader.string();
      else reader.skipType(tag & 7);
    }
    return { value };
  };

  const readVertex = (reader: Reader, end: number): TraceVertex => {
    let digest = "";
    const inputs: string[] = [];
    let name = "";
    let cached = false;
    let started: number | undefined;
    let completed: number | undefined;
    let error = "";
    while (reader.pos < end) {
      const tag = reader.uint32();
      switch (tag >>> 3) {
        case 1:
          digest = reader.string();
          break;
        case 2:
          inputs.push(reader.string());
          break;
        case 3:
          name = reader.string();
          break;
        case 4:
          cached = reader.bool();
          break;
        case 5:
          started = nested(reader, timestamp);
          break;
        case 6:
          completed = nested(reader, timestamp);
          break;
        case 7:
          error = reader.string();
          break;
        default:
          reader.skipType(tag & 7);
      }
    }
    return { digest, inputs, name, cached, started, completed, error };
  };

  const readStatus = (reader: Reader, end: number): TraceStatus => {
    const status = {
      id: "",
      vertex: "",
      name: "",
      current: 0,
      total: 0,
      timestamp: undefined as number | undefined,
      started: undefined as number | undefined,
      completed: undefined as number | undefined,
    };
    while (reader.pos < end) {
      const tag = reader.uint32();
      switch (tag >>> 3) {
        case 1:
          status.id = reader.string();
          break;
        case 2:
          status.vertex = reader.string();
          break;
        case 3:
          status.name = reader.string();
          break;
        case 4:
          status.current = int64(reader);
          break;
        case 5:
          status.total = int64(reader);
          break;
        case 6:
          status.timestamp = nested(reader, timestamp);
          break;
        case 7:
          status.started = nested(reader, timestamp);
          break;
        case 8:
          status.completed = nested(reader, timestamp);
          break;
        default:
          reader.skipType(tag & 7);
      }
    }
    return status;
  };

  const readLog = (reader: Reader, end: number): TraceLog => {
    let vertex = "";
    let at: number | undefined;
    let stream = 0;
    let msg: Uint8Array = new Uint8Array(0);
    while (reader.pos < end) {
      const tag = reader.uint32();
      switch (tag >>> 3) {
        case 1:
          vertex = reader.string();
          break;
        case 2:
          at = nested(reader, timestamp);
          break;
        case 3:
          stream = int64(reader);
          break;
        case 4:
          msg = reader.bytes();
          break;
        default:
          reader.skipType(tag & 7);
      }
    }
    return { vertex, timestamp: at, stream, msg };
  };

  return {
    encodePacket(packet) {
      const writer = Writer.create();
      if (packet.type) writer.uint32(8).int32(packet.type);
      if (packet.stat) {
        writeStat(writer.uint32(18).fork(), packet.stat);
        writer.ldelim();
      }
      if (packet.id) writer.uint32(24).uint32(packet.id);
      if (packet.data?.length) writer.uint32(34).bytes(packet.data);
      return writer.finish() as Buffer;
    },
    decodePacket(bytes) {
      const reader = Reader.create(bytes);
      let type = 0;
      let stat: Stat | undefined;
      let id = 0;
      let data: Uint8Array | undefined;
      while (reader.pos < reader.len) {
        const tag = reader.uint32();
        switch (tag >>> 3) {
          case 1:
            type = reader.int32();
            break;
          case 2:
            stat = nested(reader, readStat);
            break;
          case 3:
            id = reader.uint32();
            break;
          case 4:
            data = reader.bytes();
            break;
          default:
            reader.skipType(tag & 7);
        }
      }
      return { type, stat, id, data };
    },
    encodeBytes(data) {
      const writer = Writer.create();
      if (data.length) writer.uint32(10).bytes(data);
      return writer.finish() as Buffer;
    },
    decodeBytes(bytes) {
      const reader = Reader.create(bytes);
      let data: Uint8Array = new Uint8Array(0);
      while (reader.pos < reader.len) {
        const tag = reader.uint32();
        if (tag === 10) data = reader.bytes();
        else reader.skipType(tag & 7);
      }
      return data;
    },
    decodeFirstString: firstString,
    decodeNothing: () => ({}),
    encodeEmpty: () => Buffer.alloc(0),
    encodeHealth(status) {
      return Writer.create().uint32(8).int32(status).finish() as Buffer;
    },
    encodeCredentials(username, secret) {
      const writer = Writer.create();
      if (username) writer.uint32(10).string(username);
      if (secret) writer.uint32(18).string(secret);
      return writer.finish() as Buffer;
    },
    decodeStatusResponse(bytes) {
      const reader = Reader.create(bytes);
      const response: StatusResponse = { vertexes: [], statuses: [], logs: [] };
      while (reader.pos < reader.len) {
        const tag = reader.uint32();
        switch (tag >>> 3) {
          case 1:
            response.vertexes.push(nested(reader, readVertex));
            break;
          case 2:
            response.statuses.push(nested(reader, readStatus));
            break;
          case 3:
            response.logs.push(nested(reader, readLog));
            break;
          default:
            reader.skipType(tag & 7);
        }
      }
      return response;
    },
  };
}
