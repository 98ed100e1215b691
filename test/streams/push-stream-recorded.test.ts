// PushStream on a stream recorded from the engine, and every stream reader (PushStream and the
// classic builder's BuildStream) under garbage.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BuildStream } from "../../src/classic/build-stream.js";
import { BuildError, PushError } from "../../src/errors.js";
import { readJsonLines } from "../../src/streams/json-lines.js";
import type { ProgressEvent } from "../../src/streams/progress.js";
import { PushStream } from "../../src/streams/push-stream.js";
import { StringStream } from "../support/string-stream.js";

/** Streams recorded from Debian's docker.io 20.10 engine with curl. */
const recorded = (name: string) =>
  readFileSync(path.resolve(import.meta.dirname, "../fixtures/engine-streams", `${name}.jsonl`));

async function replay(bytes: Buffer, reader: { handle: BuildStream["handle"] }) {
  await readJsonLines(Readable.from([bytes]), (line) => reader.handle(line));
}

describe("PushStream", () => {
  it("writes Prefect's status lines and keeps the digest", async () => {
    const text = new StringStream();
    const events: ProgressEvent[] = [];
    const reader = new PushStream({
      tag: "tiny",
      streamProgressTo: text,
      onProgress: (e) => events.push(e),
    });
    await replay(recorded("push-succeeds"), reader);
    expect(text.getValue()).toContain(
      "The push refers to repository [127.0.0.1:5555/pdu-record]\n",
    );
    expect(text.getValue()).toMatch(/\n(Pushed|Layer already exists)\n/);
    expect(reader.pushed?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(events.find((e) => e.type === "digest")).toMatchObject({
      tag: "tiny",
      digest: reader.pushed?.digest,
    });
    expect(events.filter((e) => e.type === "status").length).toBeGreaterThan(3);
  });

  it.each([
    ["push-refused", /dial tcp 127\.0\.0\.1:1: connect: connection refused/],
    ["push-unauthorized", /^no basic auth credentials$/],
  ])("rejects the in-stream error of %s", async (name, expected) => {
    const error = await replay(recorded(name), new PushStream({ tag: "t" })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).message).toMatch(expected);
  });
});

describe("the stream readers under garbage (property)", () => {
  const garbage = fc.oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          stream: fc.oneof(fc.string(), fc.integer()),
          aux: fc.oneof(fc.constant(null), fc.object()),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
  );

  it("either settle with a result or reject with a BuildError/PushError, never throw elsewhere", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(garbage, { maxLength: 30 }),
        fc.nat({ max: 40 }),
        async (lines, cut) => {
          const bytes = Buffer.from(lines.join("\n"));
          const chunks = [bytes.subarray(0, cut), bytes.subarray(cut)].filter((c) => c.length > 0);
          for (const reader of [new BuildStream(), new PushStream({ tag: "t" })]) {
            const outcome = await readJsonLines(Readable.from(chunks), (line) =>
              reader.handle(line),
            ).then(
              () => undefined,
              (e: unknown) => e,
            );
            if (outcome !== undefined)
              expect(outcome instanceof BuildError || outcome instanceof PushError).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
