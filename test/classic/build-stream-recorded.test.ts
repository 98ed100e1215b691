// BuildStream on streams recorded from the engine, and on hostile output.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BuildStream } from "../../src/classic/build-stream.js";
import { MAX_LOG_TAIL_LINE_CHARS } from "../../src/defaults.js";
import { BuildError, PushError } from "../../src/errors.js";
import { readJsonLines } from "../../src/streams/json-lines.js";
import type { ProgressEvent } from "../../src/streams/progress.js";
import { PushStream } from "../../src/streams/push-stream.js";
import { generated, MiB, measure } from "../support/cost.js";
import { StringStream } from "../support/string-stream.js";

/** Streams recorded from Debian's docker.io 20.10 engine with curl. */
const recorded = (name: string) =>
  readFileSync(path.resolve(import.meta.dirname, "../fixtures/engine-streams", `${name}.jsonl`));

async function replay(bytes: Buffer, reader: { handle: BuildStream["handle"] }) {
  await readJsonLines(Readable.from([bytes]), (line) => reader.handle(line));
}

describe("BuildStream", () => {
  it("finds the image ID and writes the output text unchanged", async () => {
    const text = new StringStream();
    const events: ProgressEvent[] = [];
    const reader = new BuildStream({ streamProgressTo: text, onProgress: (e) => events.push(e) });
    await replay(recorded("build-succeeds"), reader);
    expect(reader.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(text.getValue()).toContain("Step 3/4 : COPY hello.txt hello.txt\n");
    expect(text.getValue()).toMatch(/Successfully built [0-9a-f]{12}\n/);
    expect(events.filter((e) => e.type === "step")).toEqual([
      { type: "step", step: 1, totalSteps: 4, instruction: "FROM busybox" },
      { type: "step", step: 2, totalSteps: 4, instruction: "WORKDIR /tiny/" },
      { type: "step", step: 3, totalSteps: 4, instruction: "COPY hello.txt hello.txt" },
      {
        type: "step",
        step: 4,
        totalSteps: 4,
        instruction: 'ENTRYPOINT [ "/bin/cat", "hello.txt" ]',
      },
    ]);
    expect(events.at(-1)?.type).toBe("output");
    expect(events.filter((e) => e.type === "image-id")).toEqual([
      { type: "image-id", imageId: reader.imageId },
    ]);
  });

  it("rejects a failed RUN with the engine's text, its code, the step and the output", async () => {
    const reader = new BuildStream();
    const error = await replay(recorded("build-run-fails"), reader).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error).toMatchObject({
      message: "The command '/bin/sh -c false' returned a non-zero code: 1",
      code: "ERR_DOCKER_BUILD",
      statusCode: 1,
      step: "Step 4/4 : RUN false",
    });
    expect((error as BuildError).logTail).toContain('Step 3/4 : RUN echo "This is going poorly"');
  });

  it("rejects a failed COPY", async () => {
    await expect(replay(recorded("build-copy-fails"), new BuildStream())).rejects.toThrow(
      /^COPY failed/,
    );
  });

  it.each([
    [{ error: "boom" }, "boom", undefined],
    [{ errorDetail: { message: "detail only", code: 7 } }, "detail only", 7],
    [{ message: "a message" }, "a message", undefined],
  ])("rejects on %j", (message, text, statusCode) => {
    const reader = new BuildStream();
    expect(() => reader.handle({ kind: "message", message })).toThrow(
      expect.objectContaining({ message: text, statusCode }),
    );
  });

  it("keeps no more than the last 50 lines", () => {
    const reader = new BuildStream();
    for (let i = 0; i < 120; i++)
      reader.handle({ kind: "message", message: { stream: `line ${i}\n` } });
    expect(reader.logTail).toHaveLength(50);
    expect(reader.logTail.at(-1)).toBe("line 119");
  });
});

describe("BuildStream on hostile output", () => {
  it("keeps a bounded tail of a 50 MB output line, in linear time (issue 12)", async () => {
    // What the engine sends for a RUN that prints 50 MB without a newline: many `stream`
    // messages of a few KiB each, which together make one line of text.
    const piece = "0123456789abcdef".repeat(2048);
    const message = Buffer.from(`${JSON.stringify({ stream: piece })}\n`);
    const total = Math.ceil(50_000_000 / piece.length) * message.length;
    const reader = new BuildStream();
    let printed = 0;
    const cost = await measure((sample) =>
      readJsonLines(
        generated(total, () => Buffer.from(message), sample),
        (line) => {
          reader.handle(line);
          printed += line.kind === "message" ? (line.message.stream?.length ?? 0) : 0;
        },
      ),
    );
    expect(printed).toBeGreaterThanOrEqual(50_000_000);
    expect(reader.logTail).toHaveLength(1);
    expect(reader.logTail[0]).toHaveLength(MAX_LOG_TAIL_LINE_CHARS);
    expect(reader.logTail[0]?.endsWith("\u2026")).toBe(true);
    const error = reader.error("failed");
    expect(error.logTail.join("").length).toBeLessThanOrEqual(MAX_LOG_TAIL_LINE_CHARS);
    // Before: the tail re-joined and re-split its whole unfinished line on every message.
    expect(cost.cpuMs).toBeLessThan(2_000);
    expect(cost.peakGrowthBytes).toBeLessThan(64 * MiB);
  });

  it("strips ANSI escape codes from the tail but writes the output unchanged", () => {
    const text = new StringStream();
    const events: ProgressEvent[] = [];
    const reader = new BuildStream({ streamProgressTo: text, onProgress: (e) => events.push(e) });
    const coloured = "\u001b[1;31merror:\u001b[0m bad \u001b]0;title\u0007thing\u001b[K\r\n";
    reader.handle({ kind: "message", message: { stream: coloured } });
    expect(reader.logTail).toEqual(["error: bad thing"]);
    expect(text.getValue()).toBe(coloured);
    expect(events).toEqual([{ type: "output", text: coloured }]);
  });

  it("fails the build with a BuildError on a line past the limit", () => {
    const reader = new BuildStream();
    reader.handle({ kind: "message", message: { stream: "Step 1/2 : FROM busybox\n" } });
    expect(() => reader.handle({ kind: "too-long", maxBytes: 16 * MiB })).toThrow(
      expect.objectContaining({
        name: "BuildError",
        message: expect.stringMatching(/more than 16777216 bytes without a newline/),
        step: "Step 1/2 : FROM busybox",
      }),
    );
  });

  it("fails the push with a PushError on a line past the limit", () => {
    const reader = new PushStream({ tag: "t" });
    expect(() => reader.handle({ kind: "too-long", maxBytes: 1024 })).toThrow(PushError);
  });
});
