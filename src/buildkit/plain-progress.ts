/**
 * BuildKit's progress as `docker build --progress=plain` prints it (the 20.10 CLI's `progressui`
 * text mode), at most every 100 ms like the CLI. Unlike the CLI, which keeps every unfinished line
 * whole (one 32 MB line without a newline took it 32 s and 326 MiB), output is printed piece by
 * piece as it comes, in linear time and bounded memory: only the first
 * {@link MAX_KEPT_LINE_BYTES} of a line are kept, for the error summary and for printing a line
 * again after another step interrupted it.
 * @module
 */
import { StringDecoder } from "node:string_decoder";
import type { StatusResponse, TraceStatus, TraceVertex } from "./trace-messages.js";

/** The CLI prints a sub-task's progress again after 5 % more, or after 5 s. */
const MIN_PROGRESS_DELTA = 0.05;
const MIN_TIME_DELTA_MS = 5_000;
/** The CLI redraws at most this often. */
const PRINT_INTERVAL_MS = 100;

/** The start of one line of output, copied out of the engine's messages so none is held. */
interface KeptLine {
  readonly parts: Buffer[];
  bytes: number;
  /** Whether the line went on past what was kept. */
  cut: boolean;
}

class PrintedVertex {
  /** Whether the vertex has been seen started, and so takes part in printing. */
  visible = false;
  /** Output not printed yet, prefixes and newlines included, in order. */
  pending: Buffer[] = [];
  pendingBytes = 0;
  /** Whether the last line of output is unfinished. */
  logsPartial = false;
  /** Printed first when the vertex is shown again after another one interrupted its line. */
  resume: string | undefined;
  /** Decodes the printed bytes, so that a character split between two messages stays whole. */
  readonly decoder = new StringDecoder("utf8");
  /** Sub-tasks in the order they started. */
  readonly statuses: TraceStatus[] = [];
  readonly statusUpdates = new Set<string>();
  /** The last lines of output, for the error summary. */
  readonly history: KeptLine[] = [];

  constructor(
    readonly index: number,
    /** The latest update with a start time, or the first one seen. */
    public trace: TraceVertex,
  ) {}
}

const MAX_HISTORY_LINES = 200;
/** How much of one line is kept for the error summary and for printing it again. */
export const MAX_KEPT_LINE_BYTES = 4096;
/** A step with more output than this not printed yet is printed at once, not held. */
export const MAX_PENDING_BYTES = 1024 * 1024;
const NEWLINE = Buffer.from("\n");

/** Keeps the part of `piece` that fits in `line`, never half of a UTF-8 character. */
function keep(line: KeptLine, piece: Uint8Array): void {
  if (line.cut || piece.length === 0) return;
  const room = MAX_KEPT_LINE_BYTES - line.bytes;
  if (piece.length <= room) {
    line.parts.push(Buffer.from(piece));
    line.bytes += piece.length;
    return;
  }
  let end = room;
  // Back to the start of the character the limit falls in (continuation bytes are 10xxxxxx).
  while (end > 0 && ((piece[end] as number) & 0xc0) === 0x80) end--;
  line.parts.push(Buffer.from(piece.subarray(0, end)));
  line.bytes += end;
  line.cut = true;
}

/** The kept text of a line, with `…` where it was cut. */
function keptText(line: KeptLine): string {
  const text = Buffer.concat(line.parts).toString("utf8");
  return line.cut ? `${text}\u2026` : text;
}

/** Formats a byte count as the CLI does (`units.Bytes` with `%.2f`): `185B`, `1.23kB`, `48.21MB`. */
export function formatBytes(value: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  let unit = 0;
  let base = 1;
  while (unit < units.length - 1 && Math.abs(value) >= base * 1000) {
    base *= 1000;
    unit++;
  }
  if (unit === 0) return `${Math.trunc(value)}B`;
  return `${(value / base).toFixed(2)}${units[unit]}`;
}

/** Seconds with the CLI's precision: 3 decimals under 10 s, 2 under 100 s, then 1. */
function logSeconds(seconds: number): string {
  return seconds.toFixed(seconds < 10 ? 3 : seconds < 100 ? 2 : 1);
}

/** Turns BuildKit status updates into `--progress=plain` text. */
export class PlainProgress {
  readonly #write: (text: string) => void;
  readonly #vertexes = new Map<string, PrintedVertex>();
  /** Vertexes in the order they started, for the error summary. */
  readonly #startedOrder: PrintedVertex[] = [];
  readonly #lastStatus = new Map<string, { current: number; timestamp: number }>();
  /** Vertexes with something not printed yet, in the order they were updated. */
  readonly #updates = new Set<PrintedVertex>();
  readonly #now: () => number;
  #nextIndex = 0;
  #current: PrintedVertex | undefined;
  #notFirst = false;
  #lastPrint = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;

  /** @param now - the clock, in milliseconds. */
  constructor(
    write: (text: string) => void,
    now: () => number = performance.now.bind(performance),
  ) {
    this.#write = write;
    this.#now = now;
  }

  /** Prints what one status update changes. */
  update(status: StatusResponse): void {
    for (const update of status.vertexes) {
      let vertex = this.#vertexes.get(update.digest);
      if (vertex === undefined) {
        vertex = new PrintedVertex(++this.#nextIndex, update);
        this.#vertexes.set(update.digest, vertex);
      }
      const last = vertex.trace;
      // A repeated vertex without a start time must not reset one that already started.
      if (last.started !== undefined && update.started === undefined) continue;
      vertex.trace = update;
      if (update.started === undefined) continue;
      const changed =
        !vertex.visible ||
        update.name !== last.name ||
        update.started !== last.started ||
        (update.completed !== undefined && update.completed !== last.completed) ||
        update.cached !== last.cached ||
        update.error !== last.error;
      if (!vertex.visible) {
        vertex.visible = true;
        this.#startedOrder.push(vertex);
      }
      if (changed) this.#updates.add(vertex);
    }
    for (const update of status.statuses) {
      const vertex = this.#vertexes.get(update.vertex);
      if (vertex === undefined) continue;
      const index = vertex.statuses.findIndex((item) => item.id === update.id);
      if (index !== -1) vertex.statuses[index] = update;
      else if (update.started !== undefined) vertex.statuses.push(update);
      vertex.statusUpdates.add(update.id);
      this.#updates.add(vertex);
    }
    for (const log of status.logs) {
      const vertex = this.#vertexes.get(log.vertex);
      if (vertex === undefined) continue;
      this.#addLog(vertex, log.msg, log.timestamp);
      this.#updates.add(vertex);
      if (vertex.pendingBytes > MAX_PENDING_BYTES) this.#print(vertex);
    }
    const wait = this.#lastPrint + PRINT_INTERVAL_MS - this.#now();
    if (wait <= 0) this.#tick();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#tick();
      }, wait);
      this.#timer.unref();
    }
  }

  /** Prints everything not printed yet and stops the redraw timer. Call it when the build ends. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let rounds = 0; this.#updates.size > 0 && rounds < 1000; rounds++) this.#tick();
  }

  /**
   * One redraw, as the CLI's: completed steps first, then the step being shown, else one other;
   * other running steps wait, so parallel steps' output does not interleave line by line.
   */
  #tick(): void {
    this.#lastPrint = this.#now();
    const updated = [...this.#updates];
    const completed = updated
      .filter((vertex) => vertex.trace.completed !== undefined)
      .sort((a, b) => (a.trace.completed ?? 0) - (b.trace.completed ?? 0));
    const current = this.#current;
    if (current !== undefined && completed.includes(current)) this.#print(current);
    for (const vertex of completed) if (vertex !== current) this.#print(vertex);
    const open = updated.filter((vertex) => vertex.trace.completed === undefined && vertex.visible);
    const shown = this.#current;
    if (shown !== undefined && open.includes(shown)) this.#print(shown);
    else if (shown === undefined && open[0] !== undefined) this.#print(open[0]);
    for (const vertex of updated) if (!vertex.visible) this.#updates.delete(vertex);
  }

  /** After a failed build, the CLI's summary: each failed step's output between `------` lines. */
  summary(): void {
    this.flush();
    for (const vertex of this.#startedOrder) {
      if (vertex.trace.error === "" || vertex.trace.error.endsWith("context canceled")) continue;
      this.#write(`------\n > ${vertex.trace.name}:\n`);
      for (const line of vertex.history) this.#write(`${keptText(line)}\n`);
      this.#write("------\n");
    }
  }

  /** Queues one message of output: linear in its size, whatever came before. */
  #addLog(vertex: PrintedVertex, data: Uint8Array, timestamp: number | undefined): void {
    let start = 0;
    while (start < data.length) {
      const newline = data.indexOf(0x0a, start);
      const end = newline === -1 ? data.length : newline;
      if (!vertex.logsPartial) {
        const since =
          vertex.trace.started !== undefined && timestamp !== undefined
            ? (timestamp - vertex.trace.started) / 1000
            : 0;
        const prefix = Buffer.from(`#${vertex.index} ${logSeconds(since)} `);
        this.#queue(vertex, prefix);
        const line: KeptLine = { parts: [], bytes: 0, cut: false };
        keep(line, prefix);
        vertex.history.push(line);
        if (vertex.history.length > MAX_HISTORY_LINES) vertex.history.shift();
        vertex.logsPartial = true;
      }
      if (end > start) {
        const piece = data.subarray(start, end);
        this.#queue(vertex, Buffer.from(piece));
        keep(vertex.history[vertex.history.length - 1] as KeptLine, piece);
      }
      if (newline === -1) return;
      this.#queue(vertex, NEWLINE);
      vertex.logsPartial = false;
      start = newline + 1;
    }
  }

  #queue(vertex: PrintedVertex, bytes: Buffer): void {
    vertex.pending.push(bytes);
    vertex.pendingBytes += bytes.length;
  }

  #print(vertex: PrintedVertex): void {
    this.#updates.delete(vertex);
    if (!vertex.visible) return;
    const out = this.#write;
    if (vertex !== this.#current) {
      const old = this.#current;
      if (old !== undefined) {
        if (old.logsPartial) {
          // A character cut in two by the interruption is printed as U+FFFD, as the CLI does.
          const rest = old.decoder.end();
          out(`${rest}\n`);
          const line = old.history[old.history.length - 1];
          old.resume = line === undefined ? undefined : keptText(line);
        }
        out(`#${old.index} ...\n`);
      }
      if (this.#notFirst) out("\n");
      else this.#notFirst = true;
      out(`#${vertex.index} ${vertex.trace.name}\n`);
      out(`#${vertex.index} ${vertex.trace.digest}\n`);
    }
    for (const status of vertex.statuses) {
      if (!vertex.statusUpdates.has(status.id)) continue;
      const last = this.#lastStatus.get(status.id);
      const timestamp = status.timestamp ?? 0;
      if (last !== undefined && status.completed === undefined) {
        const progress = status.total > 0 ? (status.current - last.current) / status.total : 0;
        if (progress < MIN_PROGRESS_DELTA && timestamp - last.timestamp < MIN_TIME_DELTA_MS) {
          continue;
        }
      }
      this.#lastStatus.set(status.id, { current: status.current, timestamp });
      const bytes =
        status.total !== 0
          ? ` ${formatBytes(status.current)} / ${formatBytes(status.total)}`
          : status.current !== 0
            ? ` ${formatBytes(status.current)}`
            : "";
      const seconds = ((status.completed ?? timestamp) - (status.started ?? 0)) / 1000;
      let time = status.started !== undefined && seconds > 0.01 ? ` ${seconds.toFixed(1)}s` : "";
      if (status.completed !== undefined) time += " done";
      out(`#${vertex.index} ${status.id}${bytes}${time}\n`);
    }
    vertex.statusUpdates.clear();
    if (vertex.resume !== undefined) {
      // The CLI prints an interrupted line again from its start; its kept start here.
      out(vertex.resume);
      vertex.resume = undefined;
    }
    if (vertex.pendingBytes > 0) {
      const text = vertex.decoder.write(
        vertex.pending.length === 1 ? (vertex.pending[0] as Buffer) : Buffer.concat(vertex.pending),
      );
      vertex.pending = [];
      vertex.pendingBytes = 0;
      if (text !== "") out(text);
    }
    this.#current = vertex;
    const { index, trace } = vertex;
    if (trace.completed === undefined) return;
    this.#current = undefined;
    // The 20.10 CLI ends an unfinished last line here only for errors, and prints
    // "no newline#5 DONE 0.2s" otherwise; a line of its own reads better.
    const rest = vertex.decoder.end();
    if (vertex.logsPartial) out(`${rest}\n`);
    else if (rest !== "") out(rest);
    vertex.logsPartial = false;
    if (trace.error.endsWith("context canceled")) out(`#${index} CANCELED\n`);
    else if (trace.error !== "") out(`#${index} ERROR: ${trace.error}\n`);
    else if (trace.cached) out(`#${index} CACHED\n`);
    else {
      // A visible vertex has started.
      const seconds = (trace.completed - (trace.started ?? trace.completed)) / 1000;
      out(`#${index} DONE ${seconds.toFixed(1)}s\n`);
    }
  }
}
