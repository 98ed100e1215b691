import { Writable } from "node:stream";

/** A Writable that keeps everything written to it, like Python's io.StringIO. */
export class StringStream extends Writable {
  #text = "";

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.#text += chunk.toString();
    callback();
  }

  /** Everything written so far. */
  getValue(): string {
    return this.#text;
  }
}
