// BuildKit's progress trace, decoded by the generated codec: recorded traces of the engine, and
// the conversions the printer and tracker rely on (times in milliseconds, bytes kept as bytes,
// fields of newer engines skipped).
import { readFileSync } from "node:fs";
import path from "node:path";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { StatusResponse } from "../../src/buildkit/generated/github.com/moby/buildkit/api/services/control/control.js";
import { decodeStatusResponse } from "../../src/buildkit/trace-messages.js";

const recordedTraces = (name: string): Buffer[] =>
  readFileSync(
    path.resolve(import.meta.dirname, "../fixtures/engine-streams", `${name}.jsonl`),
    "utf8",
  )
    .split("\n")
    .filter((line) => line.includes('"moby.buildkit.trace"'))
    .map((line) => Buffer.from((JSON.parse(line) as { aux: string }).aux, "base64"));

describe("decodeStatusResponse", () => {
  it("reads the engine's recorded traces: steps, their times, and RUN output as bytes", () => {
    const traces = recordedTraces("buildkit-run-fails").map(decodeStatusResponse);
    const vertexes = traces.flatMap((trace) => trace.vertexes);
    expect(vertexes.map((vertex) => vertex.name)).toContain("[internal] load remote build context");
    for (const vertex of vertexes) {
      expect(vertex.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      if (vertex.started !== undefined) {
        // Recorded in 2025-2026: milliseconds since the epoch, not seconds or nanoseconds.
        expect(vertex.started).toBeGreaterThan(Date.UTC(2024, 0));
        expect(vertex.started).toBeLessThan(Date.UTC(2030, 0));
        expect(vertex.completed ?? vertex.started).toBeGreaterThanOrEqual(vertex.started);
      }
    }
    expect(vertexes.some((vertex) => vertex.error !== "")).toBe(true);
    const logs = traces.flatMap((trace) => trace.logs);
    expect(logs.length).toBeGreaterThan(0);
    for (const log of logs) {
      expect(log.msg).toBeInstanceOf(Uint8Array);
      expect([1, 2]).toContain(log.stream);
    }
  });

  it("converts nanosecond timestamps and 64-bit counters", () => {
    const bytes = StatusResponse.encode({
      vertexes: [
        {
          digest: "sha256:1",
          inputs: ["sha256:0"],
          name: "[1/1] RUN x",
          cached: true,
          started: { seconds: 1_700_000_000n, nanos: 123_456_789 },
          completed: undefined,
          error: "",
        },
      ],
      statuses: [
        {
          ID: "layer",
          vertex: "sha256:1",
          name: "exporting",
          current: 2n ** 40n,
          total: 2n ** 41n,
          timestamp: undefined,
          started: undefined,
          completed: undefined,
        },
      ],
      logs: [
        { vertex: "sha256:1", timestamp: undefined, stream: 2n, msg: Buffer.from([0xe2, 0x82]) },
      ],
    }).finish();
    const decoded = decodeStatusResponse(bytes);
    expect(decoded.vertexes[0]?.started).toBeCloseTo(1_700_000_000_123.457, 3);
    expect(decoded.vertexes[0]?.completed).toBeUndefined();
    expect(decoded.statuses[0]).toMatchObject({ id: "layer", current: 2 ** 40, total: 2 ** 41 });
    expect(decoded.logs[0]).toMatchObject({ stream: 2, msg: new Uint8Array([0xe2, 0x82]) });
  });

  it("skips fields it does not know, such as the warnings and progress groups of newer engines", () => {
    const writer = new BinaryWriter();
    // Vertex { digest = 1, name = 3, cached = 4, progressGroup = 8 { id = 1 } }
    writer.uint32((1 << 3) | 2).fork();
    writer.uint32((1 << 3) | 2).string("sha256:1");
    writer.uint32((3 << 3) | 2).string("[1/1] RUN x");
    writer.uint32((4 << 3) | 0).bool(true);
    writer
      .uint32((8 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 2)
      .string("group")
      .join();
    writer.join();
    // VertexWarning (field 4) { vertex = 1, level = 2, short = 3 }
    writer.uint32((4 << 3) | 2).fork();
    writer.uint32((1 << 3) | 2).string("sha256:1");
    writer.uint32((2 << 3) | 0).int64(1n);
    writer.uint32((3 << 3) | 2).bytes(Buffer.from("careful"));
    writer.join();
    const decoded = decodeStatusResponse(writer.finish());
    expect(decoded.vertexes).toMatchObject([
      { digest: "sha256:1", name: "[1/1] RUN x", cached: true },
    ]);
    expect(decoded.statuses).toEqual([]);
    expect(decoded.logs).toEqual([]);
  });
});
