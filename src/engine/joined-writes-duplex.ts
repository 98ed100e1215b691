import { Duplex } from "node:stream";

/**
 * A connection that passes writes corked together (a request's head and its end, HTTP/2 frames) on
 * in one piece, as a socket would: an engine that answers as soon as it has read a head must not
 * find the rest of the request still coming (a proxy in front of it would then fail to forward it).
 */
export abstract class JoinedWritesDuplex extends Duplex {
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    this._write(Buffer.concat(chunks.map(({ chunk }) => chunk)), "latin1", callback);
  }
}
