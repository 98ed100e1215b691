/**
 * Follows the steps ("vertexes") of a BuildKit build: typed progress events, and the failing step
 * with its last lines of output for a `BuildError`.
 * @module
 */
import { StringDecoder } from "node:string_decoder";
import { LineTail } from "../streams/line-tail.js";
import type { VertexEvent, VertexLogEvent, VertexStatusEvent } from "../streams/progress.js";
import type { StatusResponse, TraceVertex } from "./trace-messages.js";

/** The events one status update produces, in order. */
export type VertexProgressEvent = VertexEvent | VertexLogEvent | VertexStatusEvent;

class TrackedVertex {
  state: VertexEvent["state"] | undefined;
  error = "";
  readonly tail = new LineTail();
  /** By stream, so that a character split between two messages stays whole. */
  readonly decoders = new Map<number, StringDecoder>();

  constructor(
    readonly number: number,
    public name: string,
  ) {}
}

/** The step a build failed in (e.g. `[2/3] RUN make`), BuildKit's error and the last 50 lines. */
export interface VertexFailure {
  readonly step: string;
  readonly error: string;
  readonly logTail: string[];
}

function stateOf(vertex: TraceVertex): VertexEvent["state"] | undefined {
  if (vertex.error !== "") return "error";
  if (vertex.cached) return "cached";
  if (vertex.completed !== undefined) return "completed";
  if (vertex.started !== undefined) return "started";
  return undefined;
}

const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

/** Tracks the vertexes of one build from its decoded status updates. */
export class VertexTracker {
  readonly #vertexes = new Map<string, TrackedVertex>();
  #failed: TrackedVertex | undefined;

  /** Applies one status update and returns the events it produces. */
  update(status: StatusResponse): VertexProgressEvent[] {
    const events: VertexProgressEvent[] = [];
    // A step's end comes after the sub-tasks and output the same update carries for it, as the
    // docker CLI prints them: the engine sends `writing image … done` with its step's completion.
    const ends: VertexProgressEvent[] = [];
    const reported = new Set([...status.statuses, ...status.logs].map((item) => item.vertex));
    for (const update of status.vertexes) {
      const vertex = this.#vertex(update.digest, update.name);
      vertex.name = update.name || vertex.name;
      const state = stateOf(update);
      if (state === undefined || state === vertex.state) continue;
      // A vertex resent without its completion must not go back to "started".
      if (state === "started" && vertex.state !== undefined) continue;
      if (vertex.state === undefined && state !== "started" && update.started !== undefined) {
        // Started and finished in one update: every step still reports "started" first.
        events.push(this.#event(update, vertex, "started"));
      }
      vertex.state = state;
      if (state === "error") {
        vertex.error = update.error;
        // The first real failure; others are usually its cancelled siblings.
        if (this.#failed === undefined || this.#failed.error.endsWith("context canceled")) {
          this.#failed = vertex;
        }
      }
      const event = this.#event(update, vertex, state);
      if (state !== "started" && reported.has(update.digest)) ends.push(event);
      else events.push(event);
    }
    for (const update of status.statuses) {
      const vertex = this.#vertexes.get(update.vertex);
      if (vertex === undefined) continue;
      events.push({
        type: "vertex-status",
        digest: update.vertex,
        number: vertex.number,
        id: update.id,
        name: update.name || undefined,
        current: update.current,
        total: update.total > 0 ? update.total : undefined,
        completed: update.completed !== undefined,
      });
    }
    for (const log of status.logs) {
      const vertex = this.#vertex(log.vertex, "");
      const decoder = vertex.decoders.get(log.stream) ?? new StringDecoder("utf8");
      vertex.decoders.set(log.stream, decoder);
      const text = decoder.write(Buffer.from(log.msg.buffer, log.msg.byteOffset, log.msg.length));
      vertex.tail.push(text);
      events.push({
        type: "vertex-log",
        digest: log.vertex,
        number: vertex.number,
        stream: log.stream,
        data: log.msg,
        text,
      });
    }
    events.push(...ends);
    return events;
  }

  /** The step that failed, if one did. */
  get failure(): VertexFailure | undefined {
    const vertex = this.#failed;
    if (vertex === undefined) return undefined;
    return { step: vertex.name, error: vertex.error, logTail: vertex.tail.lines() };
  }

  #event(update: TraceVertex, vertex: TrackedVertex, state: VertexEvent["state"]): VertexEvent {
    return {
      type: "vertex",
      digest: update.digest,
      number: vertex.number,
      name: vertex.name,
      state,
      error: state === "error" ? update.error : undefined,
      started: date(update.started),
      completed: state === "started" ? undefined : date(update.completed),
    };
  }

  #vertex(digest: string, name: string): TrackedVertex {
    let vertex = this.#vertexes.get(digest);
    if (vertex === undefined) {
      vertex = new TrackedVertex(this.#vertexes.size + 1, name);
      this.#vertexes.set(digest, vertex);
    }
    return vertex;
  }
}
