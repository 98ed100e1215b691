/**
 * How a request body learns where it is piped, without reading Node's private stream state: the
 * code that pipes a body into its request announces the destination first. A body that keeps
 * memory for reuse (the build context's tar chunks) may then reuse it only while that announced
 * destination is its one consumer; a body nobody announced to reuses nothing.
 * @module
 */
import type { Readable, Writable } from "node:stream";

/** The method a body implements to hear about its destination. */
export const PIPED_INTO: unique symbol = Symbol("prefect-dockerutils.pipedInto");

/** A body that wants to know where it is piped. */
export interface PipeAware {
  [PIPED_INTO](destination: Writable): void;
}

/** Tells `body` that it is about to be piped into `destination`, if it wants to know. */
export function announcePipe(body: Readable, destination: Writable): void {
  const hook = (body as Partial<PipeAware>)[PIPED_INTO];
  if (typeof hook === "function") hook.call(body, destination);
}
