/**
 * BuildKit's `StatusResponse` (the `moby.buildkit.trace` messages), decoded by the generated codec
 * and given the shape the progress printer and tracker read: times in milliseconds since the
 * epoch, 64-bit counters as numbers, log output kept as bytes.
 * @module
 */
import {
  StatusResponse as GeneratedStatusResponse,
  type Vertex,
  type VertexLog,
  type VertexStatus,
} from "./generated/github.com/moby/buildkit/api/services/control/control.js";
import type { Timestamp } from "./generated/google/protobuf/timestamp.js";

/** BuildKit's `Vertex`: one step of the build graph. */
export interface TraceVertex
  extends Readonly<Pick<Vertex, "digest" | "name" | "cached" | "error">> {
  readonly started: number | undefined;
  readonly completed: number | undefined;
}

/** BuildKit's `VertexStatus`: progress of a sub-task of a vertex. */
export interface TraceStatus extends Readonly<Pick<VertexStatus, "vertex" | "name">> {
  readonly id: string;
  readonly current: number;
  readonly total: number;
  readonly timestamp: number | undefined;
  readonly started: number | undefined;
  readonly completed: number | undefined;
}

/** BuildKit's `VertexLog`: bytes a vertex wrote to stdout (1) or stderr (2). */
export interface TraceLog extends Readonly<Pick<VertexLog, "vertex" | "msg">> {
  readonly timestamp: number | undefined;
  readonly stream: number;
}

/** The payload of one `moby.buildkit.trace` message. */
export interface StatusResponse {
  readonly vertexes: TraceVertex[];
  readonly statuses: TraceStatus[];
  readonly logs: TraceLog[];
}

function ms(time: Timestamp | undefined): number | undefined {
  return time === undefined ? undefined : Number(time.seconds) * 1000 + time.nanos / 1e6;
}

/** Decodes one trace message; throws on bytes that are not one. */
export function decodeStatusResponse(bytes: Uint8Array): StatusResponse {
  const response = GeneratedStatusResponse.decode(bytes);
  return {
    vertexes: response.vertexes.map((vertex) => ({
      digest: vertex.digest,
      name: vertex.name,
      cached: vertex.cached,
      started: ms(vertex.started),
      completed: ms(vertex.completed),
      error: vertex.error,
    })),
    statuses: response.statuses.map((status) => ({
      id: status.ID,
      vertex: status.vertex,
      name: status.name,
      current: Number(status.current),
      total: Number(status.total),
      timestamp: ms(status.timestamp),
      started: ms(status.started),
      completed: ms(status.completed),
    })),
    logs: response.logs.map((log) => ({
      vertex: log.vertex,
      timestamp: ms(log.timestamp),
      stream: Number(log.stream),
      msg: log.msg,
    })),
  };
}
