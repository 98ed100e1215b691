// PlainProgress with a hostile engine's output (issue 17, item 10): one long line without a
// newline is printed once, in linear work and bounded memory, like the classic stream reader;
// and the CLI's text for ordinary output is unchanged.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  MAX_KEPT_LINE_BYTES,
  MAX_PENDING_BYTES,
  PlainProgress,
} from "../../src/buildkit/plain-progress.js";
import type { StatusResponse } from "../../src/buildkit/trace-messages.js";

const vertex = (digest: string, name: string, fields: Partial<StatusResponse["vertexes"][0]>) => ({
  digest,
  inputs: [],
  name,
  cached: false,
  started: undefined,
  completed: undefined,
  error: "",
  ...fields,
});

const log = (digest: string, msg: Uint8Array, at: number): StatusResponse => ({
  vertexes: [],
  statuses: [],
  logs: [{ vertex: digest, timestamp: at, stream: 1, msg }],
});

/** A printer on a fake clock that records every write. */
function recordingPrinter() {
  const writes: string[] = [];
  const clock = { now: 0 };
  const printer = new PlainProgress(
    (text) => writes.push(text),
    () => clock.now,
  );
  return { printer, writes, clock, text: () => writes.join("") };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("PlainProgress with one long line", () => {
  const LINE_BYTES = 8 * 1024 * 1024;
  const CHUNK = 32 * 1024;

  /** Sends `LINE_BYTES` of `a` without a newline in `CHUNK`-byte messages, then fails the step. */
  function flood() {
    const recorder = recordingPrinter();
    const { printer, clock } = recorder;
    printer.update({
      vertexes: [vertex("sha256:a", "[1/1] RUN flood", { started: 0 })],
      statuses: [],
      logs: [],
    });
    const chunk = Buffer.alloc(CHUNK, 0x61);
    for (let sent = 0; sent < LINE_BYTES; sent += CHUNK) {
      clock.now += 1;
      printer.update(log("sha256:a", chunk, clock.now));
    }
    printer.update({
      vertexes: [
        vertex("sha256:a", "[1/1] RUN flood", {
          started: 0,
          completed: clock.now,
          error: "exit code: 1",
        }),
      ],
      statuses: [],
      logs: [],
    });
    printer.flush();
    const before = recorder.writes.length;
    printer.summary();
    return { ...recorder, summary: recorder.writes.slice(before).join("") };
  }

  it("prints it once, in writes no larger than the pending limit and one message", () => {
    const { writes, text } = flood();
    const printed = text();
    // The line once (plus the step's header, prefix and closing lines): not again in the summary.
    expect(printed.length).toBeGreaterThanOrEqual(LINE_BYTES);
    expect(printed.length).toBeLessThan(LINE_BYTES + 2 * MAX_KEPT_LINE_BYTES + 1024);
    expect(Math.max(...writes.map((write) => write.length))).toBeLessThanOrEqual(
      MAX_PENDING_BYTES + CHUNK + 64,
    );
  });

  it("keeps only the line's start for the error summary, cut with …", () => {
    const { summary } = flood();
    const lines = summary.split("\n");
    const kept = lines.find((line) => line.startsWith("#1 0."));
    expect(kept).toBeDefined();
    expect(Buffer.byteLength(kept as string)).toBeLessThanOrEqual(MAX_KEPT_LINE_BYTES + 3);
    expect(kept?.endsWith("a\u2026")).toBe(true);
    expect(summary.length).toBeLessThan(2 * MAX_KEPT_LINE_BYTES);
  });

  it("copies each byte a bounded number of times: linear work, not quadratic", () => {
    let copied = 0;
    const concat = Buffer.concat;
    vi.spyOn(Buffer, "concat").mockImplementation((list, length) => {
      const joined = concat(list, length);
      copied += joined.length;
      return joined;
    });
    flood();
    // Each byte is joined at most once, when printed; quadratic appends copied gigabytes here.
    expect(copied).toBeLessThanOrEqual(LINE_BYTES + 4 * MAX_KEPT_LINE_BYTES);
  });
});

describe("PlainProgress text", () => {
  it("prints an interrupted unfinished line again from its start, as the CLI does", () => {
    const { printer, clock, text } = recordingPrinter();
    const text8 = (value: string) => Buffer.from(value);
    printer.update({
      vertexes: [
        vertex("sha256:a", "[a 1/1] RUN a", { started: 0 }),
        vertex("sha256:b", "[b 1/1] RUN b", { started: 0 }),
      ],
      statuses: [],
      logs: [],
    });
    clock.now = 200;
    printer.update(log("sha256:a", text8("one\ntwo, unfin"), 150));
    clock.now = 600;
    printer.update(log("sha256:b", text8("from b\n"), 500));
    clock.now = 800;
    printer.update({
      vertexes: [vertex("sha256:b", "[b 1/1] RUN b", { started: 0, completed: 700 })],
      statuses: [],
      logs: [],
    });
    clock.now = 1000;
    printer.update(log("sha256:a", text8("ished\nthree\n"), 900));
    clock.now = 1200;
    printer.update({
      vertexes: [
        vertex("sha256:a", "[a 1/1] RUN a", { started: 0, completed: 1100, error: "exit code: 1" }),
      ],
      statuses: [],
      logs: [],
    });
    printer.summary();
    // Recorded from the implementation this replaces, which followed the CLI line by line.
    expect(text()).toBe(
      "#1 [a 1/1] RUN a\n#1 sha256:a\n#1 0.150 one\n#1 0.150 two, unfin\n#1 ...\n\n#2 [b 1/1] RUN b\n#2 sha256:b\n#2 0.500 from b\n#2 DONE 0.7s\n\n#1 [a 1/1] RUN a\n#1 sha256:a\n#1 0.150 two, unfinished\n#1 0.900 three\n#1 ERROR: exit code: 1\n------\n > [a 1/1] RUN a:\n#1 0.150 one\n#1 0.150 two, unfinished\n#1 0.900 three\n------\n",
    );
  });

  it("keeps a character split between two messages whole", () => {
    const { printer, clock, text } = recordingPrinter();
    printer.update({
      vertexes: [vertex("sha256:a", "[1/1] RUN a", { started: 0 })],
      statuses: [],
      logs: [],
    });
    const euro = Buffer.from("€\n");
    clock.now = 1;
    printer.update(log("sha256:a", euro.subarray(0, 1), 0));
    clock.now = 500;
    printer.update(log("sha256:a", euro.subarray(1), 0));
    printer.flush();
    expect(text()).toContain("#1 0.000 €\n");
    expect(text()).not.toContain("\ufffd");
  });

  it("never cuts a kept line inside a character", () => {
    const { printer, clock, writes } = recordingPrinter();
    printer.update({
      vertexes: [vertex("sha256:a", "[1/1] RUN a", { started: 0 })],
      statuses: [],
      logs: [],
    });
    clock.now = 1;
    printer.update(log("sha256:a", Buffer.from("€".repeat(MAX_KEPT_LINE_BYTES)), 0));
    const before = writes.length;
    printer.update({
      vertexes: [vertex("sha256:a", "[1/1] RUN a", { started: 0, completed: 2, error: "boom" })],
      statuses: [],
      logs: [],
    });
    printer.summary();
    const summary = writes.slice(before).join("");
    expect(summary).not.toContain("\ufffd");
    expect(summary).toMatch(/#1 0\.000 €+…\n/);
  });
});
