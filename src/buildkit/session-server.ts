/**
 * The gRPC server of a BuildKit session, on Node's own HTTP/2 (`http2.performServerHandshake` on
 * the connection the engine opened back to this client). gRPC over HTTP/2 is small: a POST per
 * call, each message framed by a 5-byte prefix (a compression flag, a 32-bit length), the status
 * in the trailers (`grpc-status`, `grpc-message`).
 *
 * Why not grpc-js: through its public API a server cannot read a metadata key sent several times
 * as the list it is (Node joins the fields with ", " and grpc-js hands over the joined string),
 * nor a non-ASCII value (grpc-js drops the whole entry as "illegal characters"), and it writes
 * each message on its own turn of the event loop, copied; with `rawHeaders` and direct writes
 * the excludes of a `.dockerignore` arrive intact and a file's content goes out uncopied. It also
 * loaded 60 ms of modules (with protobufjs and yargs) at the first build and weighed 30 packages.
 * @module
 */
import http2 from "node:http2";
import type { Duplex } from "node:stream";
import { createDebug } from "../debug-logger.js";
import { CallMetadata } from "./call-metadata.js";
import { FRAME_HEADER } from "./data-frame.js";

const debug = createDebug("prefect-dockerutils:buildkit");

/** The gRPC status codes a session answers with. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** How a call ends. */
export interface CallStatus {
  readonly code: number;
  readonly details?: string | undefined;
}

/**
 * Limits of what the engine may send. The header limits are what the docker CLI's own session
 * accepts (gRPC-Go's server default of 16 MiB for the header list), as every exclude pattern of
 * a `.dockerignore` and every COPY source is one header field; Node's default of 128 fields broke
 * builds with more. In practice the lower bound is nghttp2's cap of 8 CONTINUATION frames per
 * header block: gRPC-Go splits headers into 16 KiB frames, so a call carries at most 144 KiB of
 * compressed headers, some thousands of patterns; past it the call fails and so does the build.
 */
const MAX_HEADER_LIST_BYTES = 16 * 1024 * 1024;
const MAX_HEADER_FIELDS = 100_000;
/** Requests are small (a host name, a secret ID, an agent message): a bigger one is refused. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Calls open at once; BuildKit opens a few per build. */
const MAX_CONCURRENT_CALLS = 1_000;
/** Small messages are copied into shared chunks of this size, written once per turn. */
const BATCH_BYTES = 64 * 1024;

/** Percent-encodes a status message as gRPC wants it in `grpc-message`. */
function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * One call of the engine on the session. Its `signal` aborts when the call is over for this side:
 * cancelled or reset by the engine, ended, or the session closed.
 */
export class SessionCall {
  /** The method, e.g. `/grpc.health.v1.Health/Check`. */
  readonly path: string;
  readonly metadata: CallMetadata;
  readonly #stream: http2.ServerHttp2Stream;
  readonly #controller = new AbortController();
  #onMessage: ((message: Uint8Array) => void) | undefined;
  #onHalfClose: (() => void) | undefined;
  #responded = false;
  #ended = false;
  #status: CallStatus = { code: GrpcStatus.OK };
  #batch: Buffer | undefined;
  #batchStart = 0;
  #batchEnd = 0;
  #batchDone: (() => void)[] = [];
  #flushQueued = false;

  /** Made by the server for each request. */
  constructor(stream: http2.ServerHttp2Stream, path: string, metadata: CallMetadata) {
    this.#stream = stream;
    this.path = path;
    this.metadata = metadata;
    stream.once("close", () => this.#controller.abort());
    stream.on("wantTrailers", () => {
      const { code, details } = this.#status;
      stream.sendTrailers({
        "grpc-status": String(code),
        ...(details ? { "grpc-message": encodeGrpcMessage(details) } : {}),
      });
    });
  }

  /** Aborts once the call is over for this side. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether messages can still be sent. */
  get writable(): boolean {
    return !this.#ended && !this.#stream.destroyed;
  }

  /** Receives the engine's messages (raw; the service decodes them) and its half-close. */
  listen(onMessage: (message: Uint8Array) => void, onHalfClose?: () => void): void {
    this.#onMessage = onMessage;
    this.#onHalfClose = onHalfClose;
  }

  /** @internal the server hands over each request message. */
  deliver(message: Uint8Array): void {
    this.#onMessage?.(message);
  }

  /** @internal the server tells that the engine has sent everything. */
  halfClose(): void {
    this.#onHalfClose?.();
  }

  #respond(): void {
    if (this.#responded) return;
    this.#responded = true;
    this.#stream.respond(
      { ":status": 200, "content-type": "application/grpc" },
      { waitForTrailers: true },
    );
  }

  /**
   * Sends one encoded message; `done` is called once it is written out. Messages of one turn of
   * the event loop leave in one write: each is copied into a shared chunk, a few bytes for the
   * small messages of a session, rather than allocated and written on its own.
   */
  send(message: Uint8Array, done?: () => void): void {
    if (!this.writable) return;
    const size = FRAME_HEADER + message.length;
    if (size > BATCH_BYTES / 4) {
      const frame = Buffer.allocUnsafe(size);
      frame.set(message, FRAME_HEADER);
      this.sendFramed(frame, done);
      return;
    }
    if (this.#batch === undefined || this.#batchEnd + size > this.#batch.length) {
      this.#flush();
      this.#batch = Buffer.allocUnsafe(BATCH_BYTES);
      this.#batchStart = 0;
      this.#batchEnd = 0;
    }
    const batch = this.#batch;
    const at = this.#batchEnd;
    batch[at] = 0;
    batch.writeUInt32BE(message.length, at + 1);
    batch.set(message, at + FRAME_HEADER);
    this.#batchEnd = at + size;
    if (done !== undefined) this.#batchDone.push(done);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      // At the end of this turn of the event loop, not of this microtask: a sender awaiting
      // between files (DiffCopy) still puts many of them in one write.
      setImmediate(() => {
        this.#flushQueued = false;
        this.#flush();
      });
    }
  }

  /**
   * Sends a message already in `frame` after {@link FRAME_HEADER} bytes left free for gRPC's
   * prefix, which is written here: the message itself is never copied.
   */
  sendFramed(frame: Buffer, done?: () => void): void {
    if (!this.writable) return;
    this.#flush();
    frame[0] = 0;
    frame.writeUInt32BE(frame.length - FRAME_HEADER, 1);
    this.#respond();
    this.#stream.write(frame, done && (() => done()));
  }

  #flush(): void {
    const batch = this.#batch;
    if (batch === undefined || this.#batchEnd === this.#batchStart || !this.writable) return;
    const chunk = batch.subarray(this.#batchStart, this.#batchEnd);
    // The rest of the chunk stays free for the next messages.
    this.#batchStart = this.#batchEnd;
    const done = this.#batchDone;
    this.#batchDone = [];
    this.#respond();
    this.#stream.write(
      chunk,
      done.length === 0
        ? undefined
        : () => {
            for (const callback of done) callback();
          },
    );
  }

  /** Ends the call with `status` (OK by default), after what was sent. Safe to call again. */
  end(status: CallStatus = { code: GrpcStatus.OK }): void {
    if (this.#ended) return;
    this.#flush();
    this.#ended = true;
    this.#status = status;
    if (this.#stream.destroyed || this.#stream.closed) return;
    if (!this.#responded && status.code !== GrpcStatus.OK) {
      // Trailers-only: the status in the response headers, as gRPC does for an early failure.
      this.#responded = true;
      this.#stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": String(status.code),
          ...(status.details ? { "grpc-message": encodeGrpcMessage(status.details) } : {}),
        },
        { endStream: true },
      );
      return;
    }
    this.#respond();
    this.#stream.end();
  }
}

/** A method the server serves. */
export interface SessionMethod {
  /** `/<package>.<Service>/<Method>`. */
  readonly path: string;
  /** Whether the engine streams requests (else the call is started once its one message is in). */
  readonly requestStream: boolean;
  /** Handles one call; throwing ends it with INTERNAL. */
  readonly handle: (call: SessionCall, request: Uint8Array | undefined) => void;
}

/** What {@link serveSession} returns. */
export interface SessionServer {
  /** Ends every call and the connection. Safe to call again. */
  close(): void;
}

/** Options of {@link serveSession}. */
export interface ServeSessionOptions {
  /** Hears about failures of the connection that no call reports (debug logging, the build's error). */
  readonly onError?: ((error: Error) => void) | undefined;
}

/**
 * Serves `methods` as gRPC on `socket`, the engine being the client. Unknown methods answer
 * UNIMPLEMENTED, as gRPC servers do.
 */
export function serveSession(
  socket: Duplex,
  methods: readonly SessionMethod[],
  options: ServeSessionOptions = {},
): SessionServer {
  const byPath = new Map(methods.map((method) => [method.path, method]));
  const session = http2.performServerHandshake(socket, {
    maxHeaderListPairs: MAX_HEADER_FIELDS,
    maxSessionMemory: 64,
    settings: {
      maxHeaderListSize: MAX_HEADER_LIST_BYTES,
      maxConcurrentStreams: MAX_CONCURRENT_CALLS,
    },
  });
  session.on("error", (error) => {
    debug("session connection: %s", error.message);
    options.onError?.(error);
  });
  const onStream = (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    _flags: number,
    // Not in @types/node's signature, but passed by Node since long before 20.12.
    rawHeaders?: string[],
  ) => {
    stream.on("error", (error) => debug("session call: %s", error.message));
    const path = String(headers[":path"] ?? "");
    const call = new SessionCall(stream, path, new CallMetadata(rawHeaders ?? []));
    if (!Array.isArray(rawHeaders)) {
      // Without the raw list, repeated metadata cannot be read: refuse rather than guess.
      call.end({ code: GrpcStatus.INTERNAL, details: "this Node.js gives no raw header list" });
      stream.resume();
      return;
    }
    const method = byPath.get(path);
    if (method === undefined || headers[":method"] !== "POST") {
      call.end({ code: GrpcStatus.UNIMPLEMENTED, details: `unknown method ${path}` });
      stream.resume();
      return;
    }
    const run = (request: Uint8Array | undefined) => {
      try {
        method.handle(call, request);
      } catch (error) {
        debug("session call %s failed: %s", path, (error as Error).message);
        call.end({ code: GrpcStatus.INTERNAL, details: (error as Error).message });
      }
    };
    let single: Uint8Array | undefined;
    let count = 0;
    const reader = frameReader(
      (message) => {
        count++;
        if (method.requestStream) call.deliver(message);
        else single = message;
      },
      // What the engine sends after that is read and dropped.
      (status) => call.end(status),
    );
    stream.on("data", reader);
    stream.on("end", () => {
      if (method.requestStream) {
        call.halfClose();
      } else if (count !== 1) {
        call.end({
          code: GrpcStatus.INTERNAL,
          details: `${path} takes one request message, got ${count}`,
        });
      } else {
        run(single);
      }
    });
    if (method.requestStream) run(undefined);
  };
  session.on("stream", onStream);
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      session.destroy();
      socket.destroy();
    },
  };
}

/**
 * Splits the request bytes into gRPC messages. A compressed message (this server announces no
 * compression) or one over {@link MAX_MESSAGE_BYTES} stops the call through `fail`.
 */
function frameReader(
  onMessage: (message: Uint8Array) => void,
  fail: (status: CallStatus) => void,
): (chunk: Buffer) => void {
  // Chunks are kept apart until a whole message is in, then joined once: joining at every chunk
  // would copy a big message over and over.
  let chunks: Buffer[] = [];
  let buffered = 0;
  let failed = false;
  return (chunk) => {
    if (failed) return;
    chunks.push(chunk);
    buffered += chunk.length;
    while (buffered >= FRAME_HEADER) {
      let head = chunks[0] as Buffer;
      if (head.length < FRAME_HEADER) {
        head = Buffer.concat(chunks);
        chunks = [head];
      }
      if (head[0] !== 0) {
        failed = true;
        fail({ code: GrpcStatus.UNIMPLEMENTED, details: "compressed messages are not accepted" });
        return;
      }
      const length = head.readUInt32BE(1);
      if (length > MAX_MESSAGE_BYTES) {
        failed = true;
        fail({
          code: GrpcStatus.RESOURCE_EXHAUSTED,
          details: `a message of ${length} bytes is over the ${MAX_MESSAGE_BYTES} bytes accepted`,
        });
        return;
      }
      const size = FRAME_HEADER + length;
      if (buffered < size) return;
      if (head.length < size) {
        head = Buffer.concat(chunks);
        chunks = [head];
      }
      onMessage(head.subarray(FRAME_HEADER, size));
      buffered -= size;
      if (head.length === size) chunks.shift();
      else chunks[0] = head.subarray(size);
    }
  };
}
