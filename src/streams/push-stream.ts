import { PushError } from "../errors.js";
import { guardedListener } from "./caller-error.js";
import {
  engineError,
  field,
  type JsonLine,
  objectField,
  tooLongLineMessage,
} from "./json-lines.js";
import { LineTail } from "./line-tail.js";
import { layerStatusEvent, type ProgressOutputs, writeProgress } from "./progress.js";

/** Where {@link PushStream} sends what it reads. */
export interface PushStreamOutputs extends ProgressOutputs {
  /** The tag being pushed, for digest events of engines that leave `aux.Tag` out. */
  readonly tag: string;
}

/**
 * The status line once the registry took the manifest: Docker sends `aux.Digest` after it,
 * Podman only this line. Anchored, no nested quantifier: linear time.
 */
const DIGEST_STATUS = /^(\S{1,128}): digest: (sha256:[0-9a-f]{64}) size: (\d{1,15})$/;

/**
 * Reads one push's messages as Prefect's `push_image` does: `status` (+ ` progress`) lines go to
 * the progress stream, `error` fails the push; beyond Prefect, `errorDetail` alone fails it too
 * and the digest is kept. Pure, so recorded streams can be replayed in tests.
 */
export class PushStream {
  readonly #outputs: PushStreamOutputs;
  readonly #tail = new LineTail();
  #digest: { digest: string; size: number | undefined } | undefined;
  /** `tag@digest` of the last digest event, so that Docker's two announcements make one. */
  #announced: string | undefined;

  constructor(outputs: PushStreamOutputs) {
    this.#outputs = { ...outputs, onProgress: guardedListener(outputs.onProgress) };
  }

  /** The digest and manifest size the registry confirmed, if it did. */
  get pushed(): { digest: string; size: number | undefined } | undefined {
    return this.#digest;
  }

  /** The last lines of output, as {@link LineTail} keeps them. */
  get logTail(): string[] {
    return this.#tail.lines();
  }

  /** Handles one line; throws a {@link PushError} for an error the engine reported. */
  handle(line: JsonLine): void {
    const { streamProgressTo, onProgress, tag } = this.#outputs;
    if (line.kind === "too-long") {
      throw new PushError(tooLongLineMessage(line.maxBytes), { logTail: this.#tail.lines() });
    }
    if (line.kind === "text") {
      this.#tail.push(`${line.text}\n`);
      return;
    }
    const message = line.message;
    const status = field(message.status);
    const failure = engineError(message);
    if (status !== undefined) {
      const progress = field(message.progress);
      const text = progress ? `${status} ${progress}` : status;
      this.#tail.push(`${text}\n`);
      writeProgress(streamProgressTo, `${text}\n`);
      onProgress?.(layerStatusEvent("push", { ...message, status }));
      const announced = DIGEST_STATUS.exec(status);
      if (announced) {
        this.#confirm(announced[1] ?? tag, announced[2] ?? "", Number(announced[3]));
      }
    } else if (failure !== undefined) {
      throw new PushError(failure.text, { statusCode: failure.code, logTail: this.#tail.lines() });
    }
    const aux = objectField(message.aux);
    const digest = field(aux?.Digest);
    if (digest !== undefined) {
      const size = typeof aux?.Size === "number" ? aux.Size : undefined;
      this.#confirm(field(aux?.Tag) ?? tag, digest, size);
    }
  }

  #confirm(tag: string, digest: string, size: number | undefined): void {
    const known = this.#digest?.digest === digest ? this.#digest.size : undefined;
    this.#digest = { digest, size: size ?? known };
    const key = `${tag}@${digest}`;
    if (key === this.#announced) return;
    this.#announced = key;
    this.#outputs.onProgress?.({ type: "digest", tag, digest, size });
  }
}
