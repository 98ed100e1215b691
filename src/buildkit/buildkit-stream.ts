/**
 * Reading a BuildKit build's response: the `moby.buildkit.trace` progress messages, the image ID
 * (`moby.image.id`), and errors, which arrive inside the HTTP 200 stream.
 * @module
 */
import { BuildError } from "../errors.js";
import { withBaseImage } from "../streams/base-image-failure.js";
import { guardedListener } from "../streams/caller-error.js";
import {
  engineError,
  field,
  type JsonLine,
  objectField,
  tooLongLineMessage,
} from "../streams/json-lines.js";
import { LineTail } from "../streams/line-tail.js";
import { type ProgressOutputs, writeProgress } from "../streams/progress.js";
import { PlainProgress } from "./plain-progress.js";
import { decodeStatusResponse, type StatusResponse } from "./trace-messages.js";
import { VertexTracker } from "./vertex-tracker.js";

const NO_BRIDGE_HINT =
  'this engine has no "bridge" network, the default of RUN steps: pass networkMode: "host" or "none"';

/** Adds what to do to the engine's errors that need it. */
export function explainBuildKitError(message: string): string {
  if (/network bridge not found/i.test(message) && !message.includes(NO_BRIDGE_HINT)) {
    return `${message} (${NO_BRIDGE_HINT})`;
  }
  return message;
}

/** Reads one BuildKit build's messages; `streamProgressTo` gets `--progress=plain` text. */
export class BuildKitStream {
  readonly #onProgress: ProgressOutputs["onProgress"];
  readonly #tracker = new VertexTracker();
  readonly #printer: PlainProgress | undefined;
  /** Text lines that were not BuildKit progress (old engines, proxies), for the log tail. */
  readonly #text = new LineTail();
  readonly #onOutputError: ((error: unknown) => void) | undefined;
  /** What the progress stream threw; nothing is written to it after that. */
  #outputError: { readonly error: unknown } | undefined;
  #imageId: string | undefined;
  #failed = false;

  /**
   * @param onOutputError - hears at once that the progress stream's `write` threw, also from the
   *   redraw timer; the build must fail with it. The next `handle()` throws it too.
   */
  constructor(outputs: ProgressOutputs = {}, onOutputError?: (error: unknown) => void) {
    this.#onProgress = guardedListener(outputs.onProgress);
    this.#onOutputError = onOutputError;
    const stream = outputs.streamProgressTo;
    this.#printer = stream ? new PlainProgress((text) => this.#write(stream, text)) : undefined;
  }

  /** A throw from the printer's redraw timer would be uncaught: it is kept and reported. */
  #write(stream: NonNullable<ProgressOutputs["streamProgressTo"]>, text: string): void {
    if (this.#outputError !== undefined) return;
    try {
      writeProgress(stream, text);
    } catch (error) {
      this.#outputError = { error };
      this.#onOutputError?.(error);
    }
  }

  /** The image ID the engine reported, if it did. */
  get imageId(): string | undefined {
    return this.#imageId;
  }

  /** Handles one line; throws a {@link BuildError} for an error the engine reported. */
  handle(line: JsonLine): void {
    const onProgress = this.#onProgress;
    if (line.kind === "too-long") throw this.error(tooLongLineMessage(line.maxBytes));
    if (line.kind === "text") {
      this.#text.push(`${line.text}\n`);
      onProgress?.({ type: "output", text: `${line.text}\n` });
      return;
    }
    const message = line.message;
    const id = field(message.id);
    if (id === "moby.buildkit.trace") {
      const aux = (message as { aux?: unknown }).aux;
      if (typeof aux !== "string") return;
      let status: StatusResponse;
      try {
        status = decodeStatusResponse(Buffer.from(aux, "base64"));
      } catch {
        // A trace this library cannot read is progress lost, not a failed build.
        return;
      }
      this.#printer?.update(status);
      if (this.#outputError !== undefined) throw this.#outputError.error;
      for (const event of this.#tracker.update(status)) onProgress?.(event);
      return;
    }
    if (id === "moby.image.id") {
      const imageId = field(objectField(message.aux)?.ID);
      if (imageId !== undefined) {
        this.#imageId = imageId;
        onProgress?.({ type: "image-id", imageId });
      }
      return;
    }
    const failure = engineError(message);
    if (failure !== undefined) {
      throw this.error(failure.text, { statusCode: failure.code });
    }
    const stream = field(message.stream);
    if (stream !== undefined) {
      // "Successfully tagged ...": the CLI does not print these with BuildKit; events only.
      this.#text.push(stream);
      onProgress?.({ type: "output", text: stream });
    }
  }

  /** Writes the progress text not written yet; call it when the build ends, however it ends. */
  flush(): void {
    this.#printer?.flush();
  }

  /**
   * A {@link BuildError} for `message`, with the failing step and its last lines when BuildKit
   * named one; prints the CLI's error summary, once.
   */
  error(
    message: string,
    details: { statusCode?: number | undefined; cause?: unknown } = {},
  ): BuildError {
    if (!this.#failed) {
      this.#failed = true;
      this.#printer?.summary();
    }
    const failure = this.#tracker.failure;
    return new BuildError(withBaseImage(failure?.step, explainBuildKitError(message)), {
      ...details,
      step: failure?.step,
      logTail: failure?.logTail ?? this.#text.lines(),
    });
  }
}
