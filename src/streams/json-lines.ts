import type { Readable } from "node:stream";
import { MAX_ENGINE_LINE_BYTES } from "../defaults.js";

/**
 * One message of the engine's progress stream (build, push, pull). Fields come from the wire
 * unchecked: read them with {@link field} and {@link objectField}.
 */
export interface EngineMessage {
  readonly stream?: string;
  readonly status?: string;
  readonly progress?: string;
  readonly progressDetail?: { readonly current?: number; readonly total?: number };
  readonly id?: string;
  readonly aux?: {
    readonly ID?: string;
    readonly Tag?: string;
    readonly Digest?: string;
    readonly Size?: number;
  };
  readonly error?: string;
  readonly errorDetail?: { readonly code?: number; readonly message?: string };
  readonly message?: string;
}

/** A parsed message, a line that was not JSON, or notice that a line grew past the limit. */
export type JsonLine =
  | { readonly kind: "message"; readonly message: EngineMessage }
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "too-long"; readonly maxBytes: number };

/** Options of {@link readJsonLines}. */
export interface ReadJsonLinesOptions {
  /**
   * The longest line kept, in bytes; a longer one is reported once as `too-long` and skipped.
   * @default MAX_ENGINE_LINE_BYTES (16 MiB)
   */
  readonly maxLineBytes?: number;
}

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines and parses each as JSON, in linear time and bounded memory (an
 * unfinished line's chunks are joined once, at its newline, which never occurs inside a UTF-8
 * character). A line that is not a JSON object is handed over as text, not thrown: engines and
 * proxies do send such lines (dockerode's `followProgress` throws and loses the rest).
 * Resolves when the stream ends; rejects with its error or what `onLine` throws, destroying it.
 */
export async function readJsonLines(
  stream: Readable,
  onLine: (line: JsonLine) => void,
  options: ReadJsonLinesOptions = {},
): Promise<void> {
  const { maxLineBytes = MAX_ENGINE_LINE_BYTES } = options;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Inside a line past the limit: bytes are dropped until the next newline. */
  let skipping = false;
  /** What `onLine` threw: rethrown as it is, never taken for a connection error. */
  let thrown: { readonly error: unknown } | undefined;
  const deliver = (line: JsonLine) => {
    try {
      onLine(line);
    } catch (error) {
      thrown = { error };
      throw error;
    }
  };
  const emit = (parts: Buffer[]) => {
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    pending = [];
    pendingBytes = 0;
    const trimmed = bytes.toString("utf8").trim();
    if (trimmed !== "") deliver(parseLine(trimmed));
  };
  /** Takes a piece of a line: its end when `endsLine`, else its start or middle. */
  const take = (piece: Buffer, endsLine: boolean) => {
    if (skipping) {
      skipping = !endsLine;
    } else if (pendingBytes + piece.length > maxLineBytes) {
      pending = [];
      pendingBytes = 0;
      skipping = !endsLine;
      deliver({ kind: "too-long", maxBytes: maxLineBytes });
    } else if (endsLine) {
      emit([...pending, piece]);
    } else if (piece.length > 0) {
      pending.push(piece);
      pendingBytes += piece.length;
    }
  };
  try {
    for await (const data of stream) {
      const chunk = typeof data === "string" ? Buffer.from(data, "utf8") : (data as Buffer);
      let start = 0;
      for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
        take(chunk.subarray(start, end), true);
        start = end + 1;
      }
      take(chunk.subarray(start), false);
    }
  } catch (error) {
    stream.destroy();
    throw thrown !== undefined ? thrown.error : connectionError(error);
  }
  if (!skipping && pendingBytes > 0) emit(pending);
}

/**
 * Node's texts for a cut connection explain nothing: a bare "aborted", or "Premature close" for
 * a response destroyed without an error (the socket closed under it), which never ends.
 */
function connectionError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const text = "The connection was cut before the response ended";
  if (code === "ERR_STREAM_PREMATURE_CLOSE") {
    return Object.assign(new Error(text, { cause: error }), { code: "ECONNRESET" });
  }
  if (code !== "ECONNRESET" && code !== "EPIPE") return error;
  const message = `${text} (${(error as Error).message})`;
  return Object.assign(new Error(message, { cause: error }), { code });
}

/**
 * The error text for a `too-long` line. No engine message comes near the limit (it sends a few
 * KiB at a time), and cutting such a line could garble the one carrying the result.
 */
export function tooLongLineMessage(maxBytes: number): string {
  return `The engine sent a line of more than ${maxBytes} bytes without a newline, longer than any Docker progress message; the connection is not a Docker engine's progress stream, or it is broken`;
}

function parseLine(line: string): JsonLine {
  if (line.startsWith("{")) {
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        return { kind: "message", message: value as EngineMessage };
      }
    } catch {
      // Not JSON: fall through and report the line as text.
    }
  }
  return { kind: "text", text: line };
}

/** A message field if it is a string. */
export function field(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A message field if it is an object (not an array). */
export function objectField<T extends object>(value: T | undefined): Partial<T> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

/** The error a message reports (`error`, else `errorDetail.message`) and `errorDetail.code`. */
export function engineError(
  message: EngineMessage,
): { readonly text: string; readonly code: number | undefined } | undefined {
  if (message.error === undefined && message.errorDetail === undefined) return undefined;
  const detail = objectField(message.errorDetail);
  const text =
    field(message.error) ??
    field(detail?.message) ??
    JSON.stringify(message.error ?? message.errorDetail);
  // Podman ends its error texts with a newline.
  return { text: text.trimEnd(), code: typeof detail?.code === "number" ? detail.code : undefined };
}
