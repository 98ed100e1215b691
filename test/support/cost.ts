import { Readable } from "node:stream";

/** What running something cost this process. */
export interface Cost {
  /** CPU time, user and system, in milliseconds. */
  readonly cpuMs: number;
  /** The largest growth of heap plus array buffers seen while it ran, in bytes. */
  readonly peakGrowthBytes: number;
}

/** Heap plus the memory of Buffers and ArrayBuffers: what the code under test can hold on to. */
const used = () => {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

/**
 * Measures the CPU time and memory growth of `run`. CPU time, unlike wall-clock time, hardly moves
 * when other processes load the machine. `sample` is handed to `run` so it can record memory at
 * the moments that matter (e.g. for every chunk a stream produces).
 */
export async function measure(run: (sample: () => void) => Promise<void>): Promise<Cost> {
  const base = used();
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, used() - base);
  };
  const before = process.cpuUsage();
  await run(sample);
  sample();
  const { user, system } = process.cpuUsage(before);
  return { cpuMs: (user + system) / 1000, peakGrowthBytes: peak };
}

/**
 * A stream of `total` bytes from `chunk()`, a fresh buffer each time (so whatever a reader keeps
 * shows up as memory), calling `sample` before each chunk.
 */
export function generated(
  total: number,
  chunk: (offset: number) => Buffer,
  sample: () => void = () => undefined,
): Readable {
  let offset = 0;
  return new Readable({
    read() {
      sample();
      if (offset >= total) {
        this.push(null);
        return;
      }
      const piece = chunk(offset);
      offset += piece.length;
      this.push(piece);
    },
  });
}

export const MiB = 1024 * 1024;
