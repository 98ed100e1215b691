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
import {
  type BuildStepEvent,
  layerStatusEvent,
  type ProgressOutputs,
  parseBuildStep,
  writeProgress,
} from "../streams/progress.js";

/**
 * Reads one build's messages as Prefect's `_build_image_once` does: `stream` text goes to the
 * progress stream, `aux.ID` is the image, `error`/`errorDetail`/`message` fail the build.
 * Pure: it never talks to the engine, so recorded streams can be replayed in tests.
 */
export class BuildStream {
  readonly #outputs: ProgressOutputs;
  readonly #tail = new LineTail();
  #step: BuildStepEvent | undefined;
  #imageId: string | undefined;

  constructor(outputs: ProgressOutputs = {}) {
    this.#outputs = {
      streamProgressTo: outputs.streamProgressTo,
      onProgress: guardedListener(outputs.onProgress),
    };
  }

  /** The image ID the engine reported, if it did. */
  get imageId(): string | undefined {
    return this.#imageId;
  }

  /** The last lines of output, as {@link LineTail} keeps them. */
  get logTail(): string[] {
    return this.#tail.lines();
  }

  /** Handles one line; throws a {@link BuildError} for an error the engine reported. */
  handle(line: JsonLine): void {
    const { streamProgressTo, onProgress } = this.#outputs;
    if (line.kind === "too-long") throw this.error(tooLongLineMessage(line.maxBytes));
    if (line.kind === "text") {
      // Not JSON: a proxy's or an old engine's plain text. Shown as output, never dropped.
      const text = `${line.text}\n`;
      this.#tail.push(text);
      writeProgress(streamProgressTo, text);
      onProgress?.({ type: "output", text });
      return;
    }
    const message = line.message;
    const stream = field(message.stream);
    const aux = objectField(message.aux);
    const failure = engineError(message);
    if (stream !== undefined) {
      this.#tail.push(stream);
      const step = parseBuildStep(stream);
      if (step) {
        this.#step = step;
        onProgress?.(step);
      }
      writeProgress(streamProgressTo, stream);
      onProgress?.({ type: "output", text: stream });
    } else if (message.aux !== undefined) {
      const imageId = field(aux?.ID);
      if (imageId !== undefined) {
        this.#imageId = imageId;
        onProgress?.({ type: "image-id", imageId });
      }
    } else if (failure !== undefined) {
      // A failed FROM step is a failed pull: the engine's text names the registry, not the image.
      throw this.error(withBaseImage(this.#step?.instruction, failure.text), {
        statusCode: failure.code,
      });
    } else if (message.message !== undefined) {
      throw this.error(field(message.message) ?? JSON.stringify(message.message));
    } else if (typeof message.status === "string") {
      // The classic builder relays the base image pull's status lines.
      onProgress?.(layerStatusEvent("pull", { ...message, status: message.status }));
    }
  }

  /** A {@link BuildError} with the failing step and the output so far. */
  error(
    message: string,
    details: { statusCode?: number | undefined; cause?: unknown } = {},
  ): BuildError {
    const step = this.#step;
    return new BuildError(message, {
      ...details,
      step: step ? `Step ${step.step}/${step.totalSteps} : ${step.instruction}` : undefined,
      logTail: this.#tail.lines(),
    });
  }
}
