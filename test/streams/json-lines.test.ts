import { PassThrough, Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_ENGINE_LINE_BYTES } from "../../src/defaults.js";
import { type JsonLine, readJsonLines } from "../../src/streams/json-lines.js";
import { generated, MiB, measure } from "../support/cost.js";

async function collect(chunks: (string | Buffer)[], maxLineBytes?: number): Promise<JsonLine[]> {
  const lines: JsonLine[] = [];
  await readJsonLines(
    Readable.from(chunks, { objectMode: false }),
    (line) => lines.push(line),
    maxLineBytes === undefined ? {} : { maxLineBytes },
  );
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
          // With a line limit, too: the same lines and the same too-long notices.
          const limit = 1 + ((cuts[0] ?? 0) % 40);
          const limitedWhole = await collect([bytes], limit);
          expect(
            await collect(
              chunks.filter((c) => c.length > 0),
              limit,
            ),
          ).toEqual(limitedWhole);
          const kept = lines.filter((l) => Buffer.byteLength(l) <= limit && l.trim() !== "");
          expect(limitedWhole.filter((l) => l.kind !== "too-long")).toHaveLength(kept.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("readJsonLines on long lines", () => {
  it("reports a line past the limit once, skips it, and reads on", async () => {
    const long = `{"stream":"${"x".repeat(100)}"}`;
    expect(
      await collect(
        ['{"status":"a"}\n', long.slice(0, 50), `${long.slice(50)}\n{"status":"b"}\n`],
        64,
      ),
    ).toEqual([
      { kind: "message", message: { status: "a" } },
      { kind: "too-long", maxBytes: 64 },
      { kind: "message", message: { status: "b" } },
    ]);
  });

  it("keeps a line of exactly the limit", async () => {
    const line = `{"s":"${"y".repeat(20)}"}`;
    expect(await collect([`${line}\n`], Buffer.byteLength(line))).toEqual([
      { kind: "message", message: { s: "y".repeat(20) } },
    ]);
  });

  it("is 16 MiB by default", () => {
    expect(MAX_ENGINE_LINE_BYTES).toBe(16 * MiB);
  });

  it("reads a 50 MB line without a newline in linear time and bounded memory", async () => {
    const total = 50_000_000;
    const lines: JsonLine[] = [];
    let bytesWhenReported = 0;
    let produced = 0;
    const cost = await measure((sample) =>
      readJsonLines(
        generated(
          total,
          () => {
            produced += 65_536;
            return Buffer.alloc(65_536, "a");
          },
          sample,
        ),
        (line) => {
          lines.push(line);
          bytesWhenReported = produced;
        },
      ),
    );
    expect(lines).toEqual([{ kind: "too-long", maxBytes: MAX_ENGINE_LINE_BYTES }]);
    // Reported as soon as the line passed the limit, not when it ended.
    // The stream reads one chunk ahead.
    expect(bytesWhenReported).toBeLessThanOrEqual(MAX_ENGINE_LINE_BYTES + 2 * 65_536);
    // Before: 34.7 s and 538 MiB, re-slicing a growing string. Now one scan: tens of ms.
    expect(cost.cpuMs).toBeLessThan(1_000);
    // At most one line (16 MiB) is kept; the rest is garbage the collector frees as it goes.
    expect(cost.peakGrowthBytes).toBeLessThan(64 * MiB);
  });

  it("parses a line just under the limit in linear time", async () => {
    const text = "z".repeat(MAX_ENGINE_LINE_BYTES - 20);
    const bytes = Buffer.from(`${JSON.stringify({ stream: text })}\n`);
    let length = 0;
    const cost = await measure((sample) =>
      readJsonLines(
        generated(
          bytes.length,
          (offset) => Buffer.from(bytes.subarray(offset, offset + 65_536)),
          sample,
        ),
        (line) => {
          length = line.kind === "message" ? (line.message.stream?.length ?? 0) : -1;
        },
      ),
    );
    expect(length).toBe(text.length);
    expect(cost.cpuMs).toBeLessThan(1_000);
  });
});
