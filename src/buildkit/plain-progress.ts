/**
 * BuildKit's progress as `docker build --progress=plain` prints it (the 20.10 CLI's `progressui`
 * text mode): each step as `#N name` and `#N digest`, its sub-tasks, its output as
 * `#N 0.412 text` (seconds since the step started), and `#N DONE 0.5s`, `#N CACHED` or
 * `#N ERROR: ...`; a step interrupted by another one's output gets `#N ...`. Like the CLI, it
 * writes at most every 100 ms, so a status that changes quickly is printed once.
 * @module
 */
import type { StatusResponse, TraceStatus } from "./trace-messages.js";

/** The CLI prints a sub-task's progress again after 5 % more, or after 5 s. */
const MIN_PROGRESS_DELTA = 0.05;
const MIN_TIME_DELTA_MS = 5_000;
/** The CLI redraws at most this often. */
const PRINT_INTERVAL_MS = 100;

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
  /** Log lines not printed yet, each already prefixed with `#N <seconds> `. */
  logs: Buffer[];
  logsPartial: boolean;
  logsOffset: number;
  readonly statuses: TraceStatus[];
  readonly statusById: Map<string, TraceStatus>;
  readonly statusUpdates: Set<string>;
  /** Every line of output, for the error summary at the end (bounded). */
  readonly history: Buffer[];
}

const MAX_HISTORY_LINES = 200;

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
          logs: [],
          logsPartial: false,
          logsOffset: 0,
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
      this.#addLog(vertex, Buffer.from(log.msg), log.timestamp);
      touch(vertex);
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
      for (const line of vertex.history) this.#write(`${line.toString("utf8")}\n`);
      this.#write("------\n");
    }
  }

  #addLog(vertex: PrintedVertex, data: Buffer, timestamp: number | undefined): void {
    if (data.length === 0) return;
    let rest = data;
    let first = true;
    for (;;) {
      const newline = rest.indexOf(0x0a);
      const piece = newline === -1 ? rest : rest.subarray(0, newline);
      if (vertex.logsPartial && vertex.logs.length > 0 && first) {
        const last = vertex.logs.length - 1;
        vertex.logs[last] = Buffer.concat([vertex.logs[last] as Buffer, piece]);
        if (vertex.history.length > 0) {
          const end = vertex.history.length - 1;
          vertex.history[end] = Buffer.concat([vertex.history[end] as Buffer, piece]);
        }
      } else {
        const since =
          vertex.started !== undefined && timestamp !== undefined
            ? (timestamp - vertex.started) / 1000
            : 0;
        const line = Buffer.concat([
          Buffer.from(`#${vertex.index} ${logSeconds(since)} `),
          Buffer.from(piece),
        ]);
        vertex.logs.push(line);
        vertex.history.push(line);
        if (vertex.history.length > MAX_HISTORY_LINES) vertex.history.shift();
      }
      first = false;
      if (newline === -1) {
        vertex.logsPartial = true;
        return;
      }
      rest = rest.subarray(newline + 1);
      if (rest.length === 0) {
        vertex.logsPartial = false;
        return;
      }
    }
  }

  #print(vertex: PrintedVertex): void {
    this.#updates.delete(vertex);
    if (!vertex.visible) return;
    const out = this.#write;
    if (vertex !== this.#current) {
      const old = this.#current;
      if (old !== undefined) {
        if (old.logsPartial) out("\n");
        old.logsOffset = 0;
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
    vertex.logs.forEach((line, index) => {
      out((index === 0 ? line.subarray(vertex.logsOffset) : line).toString("utf8"));
      if (index !== vertex.logs.length - 1 || !vertex.logsPartial) out("\n");
    });
    if (vertex.logs.length > 0) {
      if (vertex.logsPartial) {
        vertex.logs = vertex.logs.slice(-1);
        vertex.logsOffset = (vertex.logs[0] as Buffer).length;
      } else {
        vertex.logs = [];
        vertex.logsOffset = 0;
      }
    }
    this.#current = vertex;
    if (vertex.completed === undefined) return;
    this.#current = undefined;
    // The 20.10 CLI ends an unfinished last line here only for errors, and prints
    // "no newline#5 DONE 0.2s" otherwise; a line of its own reads better.
    if (vertex.logsPartial) out("\n");
    vertex.logsPartial = false;
    vertex.logs = [];
    vertex.logsOffset = 0;
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
