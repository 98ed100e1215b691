/**
 * The progress trace of a BuildKit build (`moby.buildkit.trace` messages: BuildKit's
 * `StatusResponse`), decoded by the generated codec and given the shape the progress printer and
 * tracker read: times in milliseconds, 64-bit counters as numbers, log bytes kept as bytes.
 * @module
 */
import {
  StatusResponse as GeneratedStatusResponse,
  type Vertex,
  type VertexLog,
  type VertexStatus,
} from "./generated/github.com/moby/buildkit/api/services/control/control.js";
import type { Timestamp } from "./generated/google/protobuf/timestamp.js";

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

function ms(time: Timestamp | undefined): TimestampMs | undefined {
  return time === undefined ? undefined : Number(time.seconds) * 1000 + time.nanos / 1e6;
}

function vertexOf(vertex: Vertex): TraceVertex {
  return {
    digest: vertex.digest,
    inputs: vertex.inputs,
    name: vertex.name,
    cached: vertex.cached,
    started: ms(vertex.started),
    completed: ms(vertex.completed),
    error: vertex.error,
  };
}

function statusOf(status: VertexStatus): TraceStatus {
  return {
    id: status.ID,
    vertex: status.vertex,
    name: status.name,
    current: Number(status.current),
    total: Number(status.total),
    timestamp: ms(status.timestamp),
    started: ms(status.started),
    completed: ms(status.completed),
  };
}

function logOf(log: VertexLog): TraceLog {
  return {
    vertex: log.vertex,
    timestamp: ms(log.timestamp),
    stream: Number(log.stream),
    msg: log.msg,
  };
}

/** Decodes one trace message; throws on bytes that are not one. */
export function decodeStatusResponse(bytes: Uint8Array): StatusResponse {
  const response = GeneratedStatusResponse.decode(bytes);
  return {
    vertexes: response.vertexes.map(vertexOf),
    statuses: response.statuses.map(statusOf),
    logs: response.logs.map(logOf),
  };
}
