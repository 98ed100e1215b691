/**
 * `--progress tty`: the docker CLI's look. Finished steps scroll away like ordinary output; only
 * what still runs is redrawn, in a {@link LiveFrame}.
 * @module
 */
import picocolors from "picocolors";
import type {
  LayerStatusEvent,
  ProgressEvent,
  VertexEvent,
  VertexStatusEvent,
} from "../../index.js";
import {
  LineSplitter,
  sanitizeLine,
  seconds,
  shortId,
  statusText,
  textWidth,
  truncate,
} from "../format.js";
import { blobStatus } from "./blob-status.js";
import { LayerTable } from "./layer-table.js";
import { LiveFrame } from "./live-frame.js";
import type { OperationKind, Outcome, ProgressRenderer, RenderTarget } from "./renderer.js";

const TICK_MS = 100;
/** Log lines under a running step, and under one that failed. */
const LOG_LINES = 6;
const ERROR_LOG_LINES = 12;
/** The classic builder's bookkeeping; the step lines say the same more briefly. */
const BOOKKEEPING =
  /^(Step \d+\/\d+ : | ---> |Removing intermediate container |Successfully (built|tagged) )/;
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

type Colors = ReturnType<typeof picocolors.createColors>;

/** A classic build step or a BuildKit vertex. */
interface Task {
  readonly label: string;
  started: number;
  cached: boolean;
  readonly logs: string[];
  readonly splitter: LineSplitter;
  /** BuildKit sub-tasks (transfers), by id. */
  readonly statuses: Map<string, VertexStatusEvent>;
}

/** Draws progress on a terminal. */
export class TtyRenderer implements ProgressRenderer {
  readonly #target: RenderTarget;
  readonly #frame: LiveFrame;
  readonly #c: Colors;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #tick = 0;
  #closed = false;
  #active = false;
  /** Lines to write above the frame at the next draw. */
  #pending: string[] = [];

  #kind: OperationKind = "build";
  #started = 0;
  /** Classic builds. */
  #step: Task | undefined;
  #stepsDone = 0;
  #stepsTotal = 0;
  /** BuildKit: running vertices by digest, and all their numbers. */
  readonly #vertices = new Map<string, Task>();
  readonly #vertexNumbers = new Set<number>();
  /** BuildKit: vertices already written as finished; later states of theirs are ignored. */
  readonly #finishedVertices = new Set<string>();
  #layers = new LayerTable();
  readonly #outputSplitter = new LineSplitter();
  #digestLine: string | undefined;

  private constructor(target: RenderTarget, color: boolean, now = () => performance.now()) {
    this.#target = target;
    this.#frame = new LiveFrame(target);
    this.#c = picocolors.createColors(color);
    this.#now = now;
  }

  /** A renderer drawing on `target`, which should be a terminal. */
  static create(
    target: RenderTarget,
    options: { readonly color: boolean; readonly now?: () => number },
  ): TtyRenderer {
    return new TtyRenderer(target, options.color, options.now);
  }

  start(kind: OperationKind, title: string): void {
    this.#kind = kind;
    this.#started = this.#now();
    this.#step = undefined;
    this.#stepsDone = 0;
    this.#stepsTotal = 0;
    this.#vertices.clear();
    this.#vertexNumbers.clear();
    this.#finishedVertices.clear();
    this.#layers = new LayerTable();
    this.#digestLine = undefined;
    this.#active = true;
    this.#pending.push(this.#c.bold(`[+] ${this.#verb} ${this.#clip(sanitizeLine(title), 14)}`));
    this.#timer ??= setInterval(() => {
      this.#tick++;
      this.#draw();
    }, TICK_MS);
    this.#timer.unref();
    this.#draw();
  }

  readonly onProgress = (event: ProgressEvent): void => {
    if (this.#closed) return;
    switch (event.type) {
      case "step":
        this.#finishStep();
        this.#stepsTotal = event.totalSteps;
        this.#step = this.#task(`[${event.step}/${event.totalSteps}] ${event.instruction}`);
        break;
      case "output":
        for (const line of this.#outputSplitter.push(event.text)) this.#stepOutput(line);
        break;
      case "status":
        this.#layer(event);
        break;
      case "image-id":
        this.#finishStep();
        this.#pending.push(this.#row(`writing image ${shortId(event.imageId)}`, "done"));
        break;
      case "digest":
        // The tag is in the title already; without it the line fits a terminal's width.
        this.#digestLine = `digest: ${event.digest}${event.size === undefined ? "" : ` size: ${event.size}`}`;
        break;
      case "retry":
        this.#pending.push(
          this.#c.yellow(
            ` => retrying the ${event.operation} in ${seconds(event.delayMs)} (attempt ${event.attempt}/${event.maxAttempts} failed: ${sanitizeLine(event.error.message)})`,
          ),
        );
        break;
      case "vertex":
        this.#vertex(event);
        break;
      case "platform":
        if (event.state === "built" || event.state === "pushed") {
          this.#pending.push(
            this.#row(
              `${event.platform}: ${event.state} ${shortId(event.digest ?? event.imageId ?? "")}`,
              "done",
            ),
          );
        }
        break;
      case "blob":
        this.#layer(blobStatus(event));
        break;
      case "index":
        this.#digestLine = `index digest: ${event.digest} size: ${event.size}`;
        break;
      case "vertex-log": {
        const task = this.#vertices.get(event.digest);
        if (task) for (const line of task.splitter.push(event.text)) this.#log(task, line);
        break;
      }
      case "vertex-status": {
        const task = this.#vertices.get(event.digest);
        if (task) {
          if (event.completed) task.statuses.delete(event.id);
          else task.statuses.set(event.id, event);
        }
        break;
      }
    }
    this.#draw();
  };

  end(outcome: Outcome): void {
    if (this.#closed || !this.#active) return;
    this.#active = false;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const failed = outcome.kind !== "done";
    this.#finishStep(failed ? outcome.kind : undefined);
    for (const [digest, task] of this.#vertices) {
      this.#pending.push(this.#taskLine(task, failed ? outcome.kind : "done"));
      this.#vertices.delete(digest);
    }
    if (this.#layers.size > 0) this.#collapseLayers();
    if (this.#digestLine) this.#pending.push(this.#row(this.#digestLine));
    if (outcome.kind === "done") {
      for (const line of outcome.summary) this.#pending.push(this.#row(line));
    }
    const state =
      outcome.kind === "done"
        ? this.#c.green("FINISHED")
        : outcome.kind === "cancelled"
          ? this.#c.yellow("CANCELED")
          : this.#c.red("FAILED");
    this.#pending.push(
      this.#c.bold(`[+] ${this.#verb} ${seconds(this.#now() - this.#started)}${this.#counts()} `) +
        state,
    );
    this.#draw(true);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw(true);
    this.#frame.done();
  }

  #task(label: string): Task {
    return {
      label: sanitizeLine(label),
      started: this.#now(),
      cached: false,
      logs: [],
      splitter: new LineSplitter(),
      statuses: new Map(),
    };
  }

  #stepOutput(line: string): void {
    const step = this.#step;
    if (step === undefined) return;
    if (/^ ---> Using cache$/.test(line)) {
      step.cached = true;
    } else if (!BOOKKEEPING.test(line)) {
      this.#log(step, line);
    }
  }

  #log(task: Task, line: string): void {
    const text = sanitizeLine(line);
    if (text.trim() === "") return;
    task.logs.push(text);
    if (task.logs.length > ERROR_LOG_LINES) task.logs.shift();
  }

  #finishStep(outcome?: "failed" | "cancelled"): void {
    const step = this.#step;
    if (!step) return;
    for (const line of this.#outputSplitter.flush()) this.#stepOutput(line);
    this.#step = undefined;
    if (!outcome) this.#stepsDone++;
    this.#pending.push(this.#taskLine(step, outcome ?? "done"));
    if (outcome === "failed") this.#failedLogs(step.logs);
    if (this.#layers.size > 0) this.#collapseLayers();
  }

  #vertex(event: VertexEvent): void {
    this.#vertexNumbers.add(event.number);
    // BuildKit may report a vertex's end more than once (completed, then cached): one line.
    if (this.#finishedVertices.has(event.digest)) return;
    const existing = this.#vertices.get(event.digest);
    if (event.state === "started") {
      if (!existing) {
        const task = this.#task(event.name);
        if (event.started) {
          // Count from the vertex's own start, which may be before its event arrived.
          task.started = this.#now() - Math.max(0, Date.now() - event.started.getTime());
        }
        this.#vertices.set(event.digest, task);
      }
      return;
    }
    const task = existing ?? this.#task(event.name);
    this.#vertices.delete(event.digest);
    this.#finishedVertices.add(event.digest);
    if (event.state === "cached") {
      task.cached = true;
      this.#pending.push(this.#taskLine(task, "done", 0));
      return;
    }
    const took =
      event.started && event.completed
        ? event.completed.getTime() - event.started.getTime()
        : undefined;
    for (const line of task.splitter.flush()) this.#log(task, line);
    this.#pending.push(this.#taskLine(task, event.state === "error" ? "failed" : "done", took));
    if (event.state === "error") {
      this.#failedLogs(event.error ? [...task.logs, `ERROR: ${event.error}`] : task.logs);
    }
  }

  #layer(event: LayerStatusEvent): void {
    if (event.id === undefined) {
      // "The push refers to repository [...]", "Digest: ...": the title or summary says it.
      if (this.#step && event.operation === "pull") this.#log(this.#step, event.status);
      return;
    }
    this.#layers.update({ ...event, id: event.id });
  }

  #collapseLayers(): void {
    this.#pending.push(this.#row(this.#layers.collapse(this.#kind === "push" ? "push" : "pull")));
  }

  #draw(final = false): void {
    const persisted = this.#pending;
    this.#pending = [];
    const frame = final || this.#closed || !this.#active ? [] : this.#live();
    this.#frame.update(persisted, frame);
  }

  #live(): string[] {
    const lines: string[] = [];
    const running = this.#step ? [this.#step] : [...this.#vertices.values()];
    for (const task of running) {
      lines.push(this.#c.cyan(this.#taskLine(task, "running")));
      for (const status of task.statuses.values()) lines.push(this.#statusLine(status));
      for (const line of task.logs.slice(-LOG_LINES)) lines.push(this.#c.dim(this.#logLine(line)));
    }
    lines.push(...this.#layers.lines(this.#width(), this.#c.green));
    const spinner = SPINNER[this.#tick % SPINNER.length] ?? "";
    lines.push(
      this.#c.bold(
        `${spinner} ${this.#verb} ${seconds(this.#now() - this.#started)}${this.#counts()}`,
      ),
    );
    // Rows that scrolled off the top cannot be redrawn. Some CI terminals report 0 rows.
    const rows = Math.max(2, (this.#target.rows || 24) - 1);
    return lines.length > rows ? lines.slice(lines.length - rows) : lines;
  }

  get #verb(): string {
    return this.#kind === "build" ? "Building" : "Pushing";
  }

  #counts(): string {
    if (this.#kind === "push") return "";
    if (this.#stepsTotal > 0) return ` (${this.#stepsDone}/${this.#stepsTotal})`;
    if (this.#vertexNumbers.size > 0)
      return ` (${this.#finishedVertices.size}/${this.#vertexNumbers.size})`;
    return "";
  }

  #width(): number {
    // Some CI terminals report 0 columns.
    return Math.max(20, (this.#target.columns || 80) - 1);
  }

  #clip(text: string, reserve: number): string {
    return truncate(text, this.#width() - reserve);
  }

  /** ` => label` with `time` right-aligned, as BuildKit's display has it. */
  #row(label: string, time?: string): string {
    const right = time ?? "";
    const width = this.#width();
    const left = truncate(` => ${sanitizeLine(label)}`, width - right.length - 1);
    return `${left}${" ".repeat(Math.max(1, width - textWidth(left) - right.length))}${right}`;
  }

  #taskLine(
    task: Task,
    state: "running" | "done" | "failed" | "cancelled",
    tookMs?: number,
  ): string {
    const took = seconds(tookMs ?? this.#now() - task.started);
    const prefix =
      state === "failed"
        ? "ERROR "
        : state === "cancelled"
          ? "CANCELED "
          : task.cached
            ? "CACHED "
            : "";
    const line = this.#row(`${prefix}${task.label}`, took);
    if (state === "failed") return this.#c.red(line);
    if (state === "cancelled") return this.#c.yellow(line);
    return line;
  }

  #failedLogs(lines: readonly string[]): void {
    for (const line of lines) this.#pending.push(this.#c.red(this.#logLine(line)));
  }

  #logLine(text: string): string {
    return this.#clip(` => => # ${text}`, 0);
  }

  #statusLine(status: VertexStatusEvent): string {
    return this.#c.dim(this.#row(`=> ${statusText(status)}`));
  }
}
