// Types of node-lines.mjs, for the tests and benchmarks that run code on each Node line.

/** One Node line the tests run on besides the Node on PATH. */
export interface NodeLine {
  /** The major version, e.g. 26. */
  readonly line: number;
  /** The pinned release, e.g. "26.12.1". */
  readonly version: string;
  /** The vitest projects this line runs. */
  readonly projects: readonly string[];
}

/** Each line's pinned release, and the vitest projects it runs. */
export const NODE_LINES: readonly NodeLine[];

/** The node binary of a line, installed or not. */
export function nodeBinary(line: number): string;

/** The JSON report a line's test run writes. */
export function reportOf(line: number): string;
