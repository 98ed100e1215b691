// BuildKitStream's progress text when the caller's stream fails (issue 17, item 6): the redraw
// timer writes outside handle(), where a throw would be an uncaught exception.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { expect, it } from "vitest";
import { BuildKitStream } from "../../src/buildkit/buildkit-stream.js";
import { readJsonLines } from "../../src/streams/json-lines.js";

const recorded = readFileSync(
  path.resolve(import.meta.dirname, "../fixtures/engine-streams/buildkit-succeeds.jsonl"),
);

it("reports a progress stream that throws from the redraw timer once, and writes nothing after", async () => {
  const failure = new Error("EIO");
  let writes = 0;
  const stream = new Writable({ write: (_c, _e, callback) => callback() });
  stream.write = () => {
    writes += 1;
    if (writes >= 2) throw failure;
    return true;
  };
  const reported: unknown[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  try {
    const reader = new BuildKitStream({ streamProgressTo: stream }, (error) =>
      reported.push(error),
    );
    // All at once: after the first redraw, the next ones wait for the 100 ms timer.
    const thrown = await readJsonLines(Readable.from([recorded]), (line) =>
      reader.handle(line),
    ).then(
      () => undefined,
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 250));
    reader.flush();
    reader.error("the build failed");
    expect(uncaught).toEqual([]);
    expect(reported).toEqual([failure]);
    expect(writes).toBe(2);
    // Replayed within one redraw interval, the stream ended before the timer fired; the next
    // line handled would have thrown the error.
    expect(thrown === undefined || thrown === failure).toBe(true);
    expect(() =>
      reader.handle({ kind: "message", message: { id: "moby.buildkit.trace", aux: "" } as never }),
    ).toThrow(failure);
  } finally {
    process.off("uncaughtException", onUncaught);
  }
});
