/**
 * BuildKit's progress as `docker build --progress=plain` prints it (the 20.10 CLI's `progressui`
 * text mode): each step as `#N name` and `#N digest`, its sub-tasks, its output as
 * `#N 0.412 text` (seconds since the step started), and `#N DONE 0.5s`, `#N CACHED` or
 * `#N ERROR: ...`; a step interrupted by another one's output gets `#N ...`. Like the CLI, it
 * writes at most every 100 ms, so a status that changes quickly is printed once.
 *
 * Unlike the CLI, which keeps every unfinished line whole, it works in linear time and bounded
 * memory whatever the engine sends (one line of 32 MB without a newline took 32 s and 326 MiB):
 * output is printed as it comes, piece by piece, and only the first {@link MAX_KEPT_LINE_BYTES}
 * of a line are kept, for the error summary and for printing an interrupted line again.
 * @module
 */
import { StringDecoder } from "node:string_decoder";
import type { StatusResponse, TraceStatus } from "./trace-messages.js";

/** The CLI prints a sub-task's progress again after 5 % more, or after 5 s. */
const MIN_PROGRESS_DELTA = 0.05;
const MIN_TIME_DELTA_MS = 5_000;
/** The CLI redraws at most this often. */
const PRINT_INTERVAL_MS = 100;

/**
 * The start of one line of a step's output (its `#N <seconds> ` prefix included), at most
 * {@link MAX_KEPT_LINE_BYTES}, copied out of the engine's messages so that none is held.
 */
interface KeptLine {
  readonly parts: Buffer[];
  bytes: number;
  /** Whether the line went on past what was kept. */
  cut: boolean;
}

interface PrintedVertex {
  readonly index: number;
  readonly digest: string;
  name: string;
  started: number | undefined;
  completed: number | undefined;
  cached: boolean;
  error: string;
  /** Whether the vertex has been seen started, and so takes part in printing. */
  visible: boolean;
  /** Output not printed yet, prefixes and newlines included, in order. */
  pending: Buffer[];
  pendingBytes: number;
  /** Whether the last line of output is unfinished. */
  logsPartial: boolean;
  /** Printed first when the vertex is shown again after another one interrupted its line. */
  resume: string | undefined;
  /** Decodes the printed bytes, so that a character split between two messages stays whole. */
  readonly decoder: StringDecoder;
  readonly statuses: TraceStatus[];
  readonly statusById: Map<string, TraceStatus>;
  readonly statusUpdates: Set<string>;
  /** The last lines of output, each cut, for the error summary at the end. */
  readonly history: KeptLine[];
}

const MAX_HISTORY_LINES = 200;
/** How much of one line is kept for the error summary and for printing it again. */
export const MAX_KEPT_LINE_BYTES = 4096;
/**
 * A step whose output not printed yet grows past this is printed at once, without waiting for
 * the next redraw: a flood between two redraws is never held whole.
 */
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

  /**
   * @param write - receives the text, in order.
   * @param now - the clock, in milliseconds.
   */
  constructor(
    write: (text: string) => void,
    now: () => number = performance.now.bind(performance),
  ) {
    this.#write = write;
    this.#now = now;
  }

  /** Prints what one status update changes. */
  update(status: StatusResponse): void {
    const touch = (vertex: PrintedVertex) => this.#updates.add(vertex);
    for (const update of status.vertexes) {
      let vertex = this.#vertexes.get(update.digest);
      if (vertex === undefined) {
        vertex = {
          index: ++this.#nextIndex,
          digest: update.digest,
          name: update.name,
          started: undefined,
          completed: undefined,
          cached: false,
          error: "",
          visible: false,
          pending: [],
          pendingBytes: 0,
          logsPartial: false,
          resume: undefined,
          decoder: new StringDecoder("utf8"),
          statuses: [],
          statusById: new Map(),
          statusUpdates: new Set(),
          history: [],
        };
        this.#vertexes.set(update.digest, vertex);
      }
      // A repeated vertex without a start time must not reset one that already started.
      if (vertex.started !== undefined && update.started === undefined) continue;
      const changed =
        update.started !== undefined &&
        (!vertex.visible ||
          update.name !== vertex.name ||
          update.started !== vertex.started ||
          (update.completed !== undefined && update.completed !== vertex.completed) ||
          update.cached !== vertex.cached ||
          update.error !== vertex.error);
      if (update.started !== undefined && !vertex.visible) {
        vertex.visible = true;
        this.#startedOrder.push(vertex);
      }
      vertex.name = update.name;
      vertex.started = update.started;
      vertex.completed = update.completed;
      vertex.cached = update.cached;
      vertex.error = update.error;
      if (changed) touch(vertex);
    }
    for (const update of status.statuses) {
      const vertex = this.#vertexes.get(update.vertex);
      if (vertex === undefined) continue;
      const previous = vertex.statusById.get(update.id);
      if (update.started !== undefined && previous?.started === undefined) {
        vertex.statuses.push(update);
      }
      vertex.statusById.set(update.id, update);
      const index = vertex.statuses.findIndex((item) => item.id === update.id);
      if (index !== -1) vertex.statuses[index] = update;
      vertex.statusUpdates.add(update.id);
      touch(vertex);
    }
    for (const log of status.logs) {
      const vertex = this.#vertexes.get(log.vertex);
      if (vertex === undefined) continue;
      this.#addLog(vertex, log.msg, log.timestamp);
      touch(vertex);
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
   * One redraw, as the CLI's: completed steps first (in order of completion), then the step being
   * shown, else one other; other running steps wait for a later redraw, which keeps the output
   * of parallel steps from interleaving line by line.
   */
  #tick(): void {
    this.#lastPrint = this.#now();
    const updated = [...this.#updates];
    const completed = updated
      .filter((vertex) => vertex.completed !== undefined)
      .sort((a, b) => (a.completed ?? 0) - (b.completed ?? 0));
    const current = this.#current;
    if (current !== undefined && completed.includes(current)) this.#print(current);
    for (const vertex of completed) if (vertex !== current) this.#print(vertex);
    const open = updated.filter((vertex) => vertex.completed === undefined && vertex.visible);
    const shown = this.#current;
    if (shown !== undefined && open.includes(shown)) this.#print(shown);
    else if (shown === undefined && open[0] !== undefined) this.#print(open[0]);
    for (const vertex of updated) if (!vertex.visible) this.#updates.delete(vertex);
  }

  /**
   * After a failed build, the CLI's summary: each failed step's name and its output between
   * `------` lines.
   */
  summary(): void {
    this.flush();
    for (const vertex of this.#startedOrder) {
      if (vertex.error === "" || vertex.error.endsWith("context canceled")) continue;
      this.#write(`------\n > ${vertex.name}:\n`);
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
          vertex.started !== undefined && timestamp !== undefined
            ? (timestamp - vertex.started) / 1000
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
      out(`#${vertex.index} ${vertex.name}\n`);
      out(`#${vertex.index} ${vertex.digest}\n`);
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
      let bytes = "";
      if (status.total !== 0) {
        bytes = ` ${formatBytes(status.current)} / ${formatBytes(status.total)}`;
      } else if (status.current !== 0) {
        bytes = ` ${formatBytes(status.current)}`;
      }
      let time = "";
      const end = status.completed ?? timestamp;
      if (status.started !== undefined) {
        const seconds = (end - status.started) / 1000;
        if (seconds > 0.01) time = ` ${seconds.toFixed(1)}s`;
      }
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
    if (vertex.completed === undefined) return;
    this.#current = undefined;
    // The 20.10 CLI ends an unfinished last line here only for errors, and prints
    // "no newline#5 DONE 0.2s" otherwise; a line of its own reads better.
    const rest = vertex.decoder.end();
    if (vertex.logsPartial) out(`${rest}\n`);
    else if (rest !== "") out(rest);
    vertex.logsPartial = false;
    if (vertex.error !== "") {
      if (vertex.error.endsWith("context canceled")) out(`#${vertex.index} CANCELED\n`);
      else out(`#${vertex.index} ERROR: ${vertex.error}\n`);
    } else if (vertex.cached) {
      out(`#${vertex.index} CACHED\n`);
    } else {
      const seconds =
        vertex.started === undefined ? undefined : (vertex.completed - vertex.started) / 1000;
      out(`#${vertex.index} DONE${seconds === undefined ? "" : ` ${seconds.toFixed(1)}s`}\n`);
    }
  }
}
