/**
 * Reads the engine's JSON-lines progress streams (build, push, pull).
 * @module
 */
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/**
 * One message of the engine's progress stream, as far as this library reads it. Fields come from
 * the wire unchecked: {@link field} and {@link objectField} read them safely.
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

/** What {@link readJsonLines} hands to its callback: a parsed message or a line that was not JSON. */
export type JsonLine =
  | { readonly kind: "message"; readonly message: EngineMessage }
  | { readonly kind: "text"; readonly text: string };

/**
 * Splits a byte stream into lines and parses each as JSON. Lines may be split across chunks
 * in any way, including inside a multi-byte UTF-8 character. A line that is not a JSON object is
 * handed over as text rather than thrown, because engines and proxies do emit such lines
 * (dockerode's `followProgress` throws on them and loses the rest of the stream).
 *
 * Resolves when the stream ends; rejects with the stream's error or with whatever `onLine` throws,
 * and in that case destroys the stream so the connection is released.
 */
export function readJsonLines(stream: Readable, onLine: (line: JsonLine) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const decoder = new StringDecoder("utf8");
    let buffered = "";
    let settled = false;

    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      stream.destroy();
      reject(error);
    };
    const emit = (line: string) => {
      const trimmed = line.trim();
      if (trimmed === "") return;
      onLine(parseLine(trimmed));
    };
    const onData = (chunk: Buffer | string) => {
      try {
        buffered += typeof chunk === "string" ? chunk : decoder.write(chunk);
        let newline = buffered.indexOf("\n");
        while (newline !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          emit(line);
          newline = buffered.indexOf("\n");
        }
      } catch (error) {
        fail(error);
      }
    };
    const onEnd = () => {
      if (settled) return;
      try {
        emit(buffered + decoder.end());
      } catch (error) {
        fail(error);
        return;
      }
      settled = true;
      cleanup();
      resolve();
    };
    const onClose = () => {
      // A response destroyed without an error (e.g. the socket closed under it) never emits
      // 'end'; without this the promise would never settle.
      if (!settled && !stream.readableEnded) {
        fail(
          Object.assign(new Error("The connection was cut before the response ended"), {
            code: "ECONNRESET",
          }),
        );
      }
    };
    const onError = (error: Error) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ECONNRESET" || code === "EPIPE") {
        // Node's own text for this is a bare "aborted", which explains nothing.
        fail(
          Object.assign(
            new Error(`The connection was cut before the response ended (${error.message})`, {
              cause: error,
            }),
            { code },
          ),
        );
      } else {
        fail(error);
      }
    };
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
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

/** A string field of a message, or `undefined` when it is absent or not a string. */
export function field(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** An object field of a message, or `undefined` when it is absent or not an object. */
export function objectField<T extends object>(value: T | undefined): Partial<T> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

/**
 * The error a message reports (`error`, else `errorDetail.message`) and its `errorDetail.code`,
 * or `undefined` when the message reports none.
 */
export function engineError(
  message: EngineMessage,
): { readonly text: string; readonly code: number | undefined } | undefined {
  if (message.error === undefined && message.errorDetail === undefined) return undefined;
  const detail = objectField(message.errorDetail);
  const text =
    field(message.error) ??
    field(detail?.message) ??
    JSON.stringify(message.error ?? message.errorDetail);
  return { text, code: typeof detail?.code === "number" ? detail.code : undefined };
}
