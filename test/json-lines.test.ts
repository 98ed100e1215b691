import { PassThrough, Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type JsonLine, readJsonLines } from "../src/streams/json-lines.js";

async function collect(chunks: (string | Buffer)[]): Promise<JsonLine[]> {
  const lines: JsonLine[] = [];
  await readJsonLines(Readable.from(chunks, { objectMode: false }), (line) => lines.push(line));
  return lines;
}

describe("readJsonLines", () => {
  it("parses one JSON object per line", async () => {
    expect(
      await collect(['{"stream":"Step 1/2 : FROM busybox\\n"}\n{"aux":{"ID":"sha256:ab"}}\n']),
    ).toEqual([
      { kind: "message", message: { stream: "Step 1/2 : FROM busybox\n" } },
      { kind: "message", message: { aux: { ID: "sha256:ab" } } },
    ]);
  });

  it("reports lines that are not JSON objects as text instead of throwing", async () => {
    expect(await collect(["not json\n", "[1,2]\n", "{broken\n", '{"status":"ok"}'])).toEqual([
      { kind: "text", text: "not json" },
      { kind: "text", text: "[1,2]" },
      { kind: "text", text: "{broken" },
      { kind: "message", message: { status: "ok" } },
    ]);
  });

  it("joins lines split inside a multi-byte character", async () => {
    const bytes = Buffer.from('{"stream":"h\u00e9llo \u{1F600}"}\n');
    const chunks = [...bytes].map((byte) => Buffer.from([byte]));
    expect(await collect(chunks)).toEqual([
      { kind: "message", message: { stream: "h\u00e9llo \u{1F600}" } },
    ]);
  });

  it("rejects with the stream's error", async () => {
    const stream = new PassThrough();
    const reading = readJsonLines(stream, () => undefined);
    stream.write('{"status":"a"}\n');
    stream.destroy(new Error("socket hang up"));
    await expect(reading).rejects.toThrow("socket hang up");
  });

  it("rejects when the stream closes without ending", async () => {
    const stream = new PassThrough();
    const reading = readJsonLines(stream, () => undefined);
    stream.write('{"status":"a"}\n{"stat');
    stream.destroy();
    await expect(reading).rejects.toMatchObject({ code: "ECONNRESET" });
  });

  it("rejects with what the callback throws and destroys the stream", async () => {
    const stream = new PassThrough();
    const reading = readJsonLines(stream, () => {
      throw new Error("stop");
    });
    stream.write('{"error":"boom"}\n');
    await expect(reading).rejects.toThrow("stop");
    expect(stream.destroyed).toBe(true);
  });

  it("yields the same lines however the bytes are split (property)", async () => {
    const line = fc.oneof(
      fc
        .dictionary(
          fc.string({ maxLength: 8 }),
          fc.oneof(fc.string({ unit: "binary" }), fc.integer()),
        )
        .map((o) => JSON.stringify(o)),
      fc.string({ unit: "binary", maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, "")),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        async (lines, cuts) => {
          const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(""));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const chunks: Buffer[] = [];
          let previous = 0;
          for (const point of [...points, bytes.length]) {
            chunks.push(bytes.subarray(previous, point));
            previous = point;
          }
          const whole = await collect([bytes]);
          const split = await collect(chunks.filter((c) => c.length > 0));
          expect(split).toEqual(whole);
          expect(whole).toHaveLength(lines.filter((l) => l.trim() !== "").length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
