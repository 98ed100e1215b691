/**
 * `--progress json`: every progress event as one line of JSON, for other programs.
 * @module
 */
import type { ProgressEvent } from "../../index.js";
import type { OperationKind, Outcome, ProgressRenderer, RenderTarget } from "./renderer.js";

/** An event as JSON: `Date`s ISO 8601, bytes base64, `Error`s as `{ name, message, code? }`. */
export function eventToJson(event: ProgressEvent): string {
  return JSON.stringify(event, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
    }
    return value;
  });
}

/** Writes each event as a JSON line; operations and outcomes add nothing to the stream. */
export class JsonRenderer implements ProgressRenderer {
  constructor(private readonly target: RenderTarget) {}

  start(_kind: OperationKind, _title: string): void {}

  readonly onProgress = (event: ProgressEvent): void => {
    this.target.write(`${eventToJson(event)}\n`);
  };

  end(_outcome: Outcome): void {}

  close(): void {}
}
