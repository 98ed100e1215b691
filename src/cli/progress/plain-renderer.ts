/**
 * `--progress plain`: one line per event, for CI logs and pipes; no control character at all.
 * @module
 */
import type { ProgressEvent, VertexEvent } from "../../index.js";
import { byteAmount, LineSplitter, sanitizeLine, seconds, statusText } from "../format.js";
import { blobStatus } from "./blob-status.js";
import type { OperationKind, Outcome, ProgressRenderer, RenderTarget } from "./renderer.js";

/** Byte-progress updates come many per second: a repeated state is printed after this long. */
const PROGRESS_REPEAT_MS = 2_000;

const STEP_LINE = /^Step \d+\/\d+ : /;

/** Prints events as lines. */
export class PlainRenderer implements ProgressRenderer {
  readonly #target: RenderTarget;
  readonly #now: () => number;
  readonly #output = new LineSplitter();
  readonly #vertexLogs = new Map<string, LineSplitter>();
  /** Last state printed per layer or sub-task, and when. */
  readonly #lastProgress = new Map<string, { state: string; at: number }>();
  /** BuildKit vertices whose name was printed, and those whose end was. */
  readonly #namedVertices = new Set<string>();
  readonly #finishedVertices = new Set<string>();
  #kind: OperationKind = "build";
  #started = 0;

  constructor(target: RenderTarget, now: () => number = () => performance.now()) {
    this.#target = target;
    this.#now = now;
  }

  start(kind: OperationKind, title: string): void {
    this.#kind = kind;
    this.#started = this.#now();
    this.#lastProgress.clear();
    this.#namedVertices.clear();
    this.#finishedVertices.clear();
    this.#line(`${kind === "build" ? "building" : "pushing"} ${title}`);
  }

  readonly onProgress = (event: ProgressEvent): void => {
    switch (event.type) {
      case "step":
        this.#line(`Step ${event.step}/${event.totalSteps} : ${event.instruction}`);
        return;
      case "output":
        for (const line of this.#output.push(event.text)) {
          // The step line was printed for the step event already.
          if (!STEP_LINE.test(line)) this.#line(line);
        }
        return;
      case "status":
        this.#status(event.id, event.status, event.current, event.total);
        return;
      case "image-id":
        this.#line(`writing image ${event.imageId}`);
        return;
      case "digest":
        this.#line(
          `${event.tag}: digest: ${event.digest}${event.size === undefined ? "" : ` size: ${event.size}`}`,
        );
        return;
      case "retry":
        this.#line(
          `retrying the ${event.operation} in ${seconds(event.delayMs)}: attempt ${event.attempt}/${event.maxAttempts} failed: ${event.error.message}`,
        );
        return;
      case "vertex":
        this.#vertex(event);
        return;
      case "platform":
        this.#line(
          `${event.platform}: ${event.state}${event.state === "pushed" ? ` ${event.digest} size: ${event.size}` : event.state === "built" ? ` ${event.imageId}` : ""}`,
        );
        return;
      case "blob": {
        const status = blobStatus(event);
        this.#status(status.id, status.status, status.current, status.total);
        return;
      }
      case "index":
        this.#line(`${event.reference}: digest: ${event.digest} size: ${event.size}`);
        return;
      case "vertex-log": {
        const splitter = this.#vertexLogs.get(event.digest) ?? new LineSplitter();
        this.#vertexLogs.set(event.digest, splitter);
        for (const line of splitter.push(event.text)) this.#line(`#${event.number} ${line}`);
        return;
      }
      case "vertex-status": {
        const line = `#${event.number} ${statusText(event)}`;
        const key = `#${event.number} ${event.id}`;
        if (event.completed) this.#progress(key, "done", `${line} done`);
        else this.#progress(key, "running", line);
        return;
      }
    }
  };

  end(outcome: Outcome): void {
    for (const line of this.#output.flush()) this.#line(line);
    for (const splitter of this.#vertexLogs.values()) {
      for (const line of splitter.flush()) this.#line(line);
    }
    this.#vertexLogs.clear();
    const ended = { done: "finished in", cancelled: "cancelled after", failed: "failed after" };
    this.#line(`${this.#kind} ${ended[outcome.kind]} ${seconds(this.#now() - this.#started)}`);
  }

  close(): void {}

  #status(
    id: string | undefined,
    status: string,
    current: number | undefined,
    total: number | undefined,
  ): void {
    // The registry's "<tag>: digest: ... size: ..." line is printed for the digest event.
    if (id === undefined && /^\S+: digest: \S+ size: \d+$/.test(status)) return;
    const text = id === undefined ? status : `${id}: ${status}`;
    if (current === undefined) {
      this.#line(text);
      return;
    }
    this.#progress(`${id ?? ""} ${status}`, status, `${text} ${byteAmount(current, total)}`);
  }

  /** Prints a progress line unless the same state was printed less than a while ago. */
  #progress(key: string, state: string, line: string): void {
    const now = this.#now();
    const last = this.#lastProgress.get(key);
    if (last && last.state === state && now - last.at < PROGRESS_REPEAT_MS) return;
    this.#lastProgress.set(key, { state, at: now });
    this.#line(line);
  }

  /** As `docker build --progress=plain`: `#N name` once, then `#N DONE 0.4s`, `CACHED` or `ERROR`. */
  #vertex(event: VertexEvent): void {
    const { digest, number } = event;
    if (this.#finishedVertices.has(digest)) return;
    if (!this.#namedVertices.has(digest)) {
      this.#namedVertices.add(digest);
      this.#line(`#${number} ${event.name}`);
    }
    switch (event.state) {
      case "started":
        return;
      case "cached":
        this.#finishedVertices.add(digest);
        this.#line(`#${number} CACHED`);
        return;
      case "completed": {
        this.#finishedVertices.add(digest);
        const { started, completed } = event;
        const took =
          started && completed ? ` ${seconds(completed.getTime() - started.getTime())}` : "";
        this.#line(`#${number} DONE${took}`);
        return;
      }
      case "error":
        this.#finishedVertices.add(digest);
        this.#line(`#${number} ERROR: ${event.error ?? "failed"}`);
        return;
    }
  }

  #line(text: string): void {
    this.#target.write(`${sanitizeLine(text)}\n`);
  }
}
