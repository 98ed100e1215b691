// The checks dockerClient() adds to dockerode, on the connection its agent hands out: the only
// place dockerode's public API (docker-modem's `agent` option) lets a caller stand between it and
// the engine. Hand-written: no library checks HTTP on a connection this way.
import type { Duplex } from "node:stream";
import { createDebug } from "../debug-logger.js";
import { EngineHttpError, InvalidArgumentError } from "../errors.js";
import { checkEnginePath } from "./engine-path.js";
import { JoinedWritesDuplex } from "./joined-writes-duplex.js";

const debug = createDebug("prefect-dockerutils:engine");

/** Largest request head accepted: a build's X-Registry-Config with many logins fits easily. */
const MAX_HEAD_BYTES = 1024 * 1024;
const MAX_STATUS_LINE_BYTES = 8 * 1024;
const MAX_REDIRECT_BYTES = 64 * 1024;

/**
 * A connection carrying one request (the agent keeps none alive), which connects (`open`) only once
 * the request's head passed `checkEnginePath` and has no `?` or `#` in its query (what only a
 * hostile name such as `getImage("../../containers/prune?")` puts there). `X-Registry-Config` is
 * re-encoded URL-safe: docker-modem sends standard base64, which the engine silently drops. A 3xx
 * answer never reaches docker-modem, which would follow its `Location` anywhere (and crash when
 * that host does not answer): it is read to its end and dropped, failing with an `EngineHttpError`.
 */
export function guardConnection(open: () => Duplex, explain: (error: Error) => Error): Duplex {
  return new GuardedConnection(open, explain);
}

class GuardedConnection extends JoinedWritesDuplex {
  readonly #open: () => Duplex;
  readonly #explain: (error: Error) => Error;
  #inner: Duplex | undefined;
  #head = Buffer.alloc(0);
  /** The answer's status line received so far, until it is checked. */
  #status: Buffer | undefined = Buffer.alloc(0);
  /** `METHOD /path`, for messages. */
  #request = "";
  /** Failed with once the redirect's answer has been read to the end. */
  #redirect: EngineHttpError | undefined;
  #redirectBytes = 0;

  constructor(open: () => Duplex, explain: (error: Error) => Error) {
    super({ allowHalfOpen: true });
    this.#open = open;
    this.#explain = explain;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error) => void) {
    if (this.#inner) {
      this.#inner.write(chunk, (error) => callback(error ?? undefined));
      return;
    }
    const searchFrom = Math.max(0, this.#head.length - 3);
    this.#head = Buffer.concat([this.#head, chunk]);
    const end = this.#head.indexOf("\r\n\r\n", searchFrom);
    if (end === -1) {
      callback(
        this.#head.length > MAX_HEAD_BYTES
          ? new InvalidArgumentError(`A request head larger than ${MAX_HEAD_BYTES} bytes`)
          : undefined,
      );
      return;
    }
    let inner: Duplex;
    let head: string;
    try {
      // Node writes request heads in latin1.
      head = this.#checkHead(this.#head.subarray(0, end + 4).toString("latin1"));
      inner = this.#open();
    } catch (error) {
      callback(error as Error);
      return;
    }
    const rest = this.#head.subarray(end + 4);
    this.#head = Buffer.alloc(0);
    this.#attach(inner);
    inner.write(Buffer.concat([Buffer.from(head, "latin1"), rest]), (error) =>
      callback(error ?? undefined),
    );
  }

  override _final(callback: (error?: Error) => void): void {
    if (this.#inner) this.#inner.end(callback);
    else callback();
  }

  override _read(): void {
    this.#inner?.resume();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#inner?.destroy();
    callback(error);
  }

  /** The head to send. */
  #checkHead(head: string): string {
    const line = head.slice(0, head.indexOf("\r\n"));
    const [method = "", target = ""] = line.split(" ");
    const query = target.indexOf("?");
    const path = query === -1 ? target : target.slice(0, query);
    checkEnginePath(path);
    if (query !== -1 && /[?#]/.test(target.slice(query + 1))) {
      throw new InvalidArgumentError(
        `${JSON.stringify(target.slice(0, 200))} is not an Engine API request: its query holds "?" or "#", which only a name that is not one puts there`,
      );
    }
    this.#request = `${method} ${path}`;
    // Method and path only: headers carry credentials and the query may carry build args.
    debug("dockerode %s", this.#request);
    return head.replace(
      /^(x-registry-config:[ \t]*)([^\r\n]*)/im,
      (_match, name: string, value: string) =>
        `${name}${value.replaceAll("+", "-").replaceAll("/", "_")}`,
    );
  }

  #attach(inner: Duplex): void {
    this.#inner = inner;
    inner.on("data", (chunk: Buffer) => this.#receive(chunk));
    let ended = false;
    inner.once("end", () => {
      ended = true;
      if (this.#redirect) this.destroy(this.#redirect);
      else this.push(null);
    });
    inner.once("error", (error) => this.destroy(this.#explain(error)));
    inner.once("close", () => {
      if (!ended) this.destroy();
    });
  }

  #receive(chunk: Buffer): void {
    if (this.#redirect) {
      // Read and dropped, so that the engine sees its answer taken.
      this.#redirectBytes += chunk.length;
      if (this.#redirectBytes > MAX_REDIRECT_BYTES) this.destroy(this.#redirect);
      return;
    }
    let data = chunk;
    if (this.#status !== undefined) {
      this.#status = Buffer.concat([this.#status, chunk]);
      const end = this.#status.indexOf("\r\n");
      if (end === -1) {
        if (this.#status.length > MAX_STATUS_LINE_BYTES) {
          this.destroy(new EngineHttpError("The engine's answer has no status line", 0));
        }
        return;
      }
      const status = Number(
        /^HTTP\/\d\.\d (\d{3})/.exec(this.#status.toString("latin1", 0, end))?.[1],
      );
      if (status >= 300 && status < 400) {
        this.#redirect = new EngineHttpError(
          `The engine answered ${this.#request} with HTTP ${status}, a redirect; redirects from the engine are never followed`,
          status,
        );
        this.#status = undefined;
        this.#receive(Buffer.alloc(0));
        return;
      }
      data = this.#status;
      this.#status = undefined;
    }
    if (!this.push(data)) this.#inner?.pause();
  }
}
