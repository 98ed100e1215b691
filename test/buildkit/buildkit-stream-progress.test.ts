// BuildKit's progress: the trace recorded from the engine, replayed through the stream reader,
// the typed events and the `--progress=plain` text.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BuildKitStream, explainBuildKitError } from "../../src/buildkit/buildkit-stream.js";
import { formatBytes, PlainProgress } from "../../src/buildkit/plain-progress.js";
import type { StatusResponse } from "../../src/buildkit/trace-messages.js";
import { VertexTracker } from "../../src/buildkit/vertex-tracker.js";
import { BuildError } from "../../src/errors.js";
import { readJsonLines } from "../../src/streams/json-lines.js";
import type { ProgressEvent } from "../../src/streams/progress.js";
import { StringStream } from "../support/string-stream.js";

/** Streams recorded from Debian's docker.io 20.10 engine with curl (tar body, version=2). */
const recorded = (name: string) =>
  readFileSync(path.resolve(import.meta.dirname, "../fixtures/engine-streams", `${name}.jsonl`));

async function replay(name: string) {
  const text = new StringStream();
  const events: ProgressEvent[] = [];
  const reader = new BuildKitStream({
    streamProgressTo: text,
    onProgress: (event) => events.push(event),
  });
  const error = await readJsonLines(Readable.from([recorded(name)]), (line) =>
    reader.handle(line),
  ).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  reader.flush();
  return { reader, text: text.getValue(), events, error };
}

/** Timings and digests vary from run to run; the shape does not. */
const shape = (text: string) =>
  text
    .replace(/sha256:[0-9a-f]{64}/g, "sha256:<digest>")
    .replace(/#(\d+) \d+\.\d+ /g, "#$1 <t> ")
    .replace(/ \d+\.\ds( done)?$/gm, " <s>$1");

describe("BuildKitStream", () => {
  it("finds the image ID and prints the steps as docker build --progress=plain does", async () => {
    const { reader, text, error } = await replay("buildkit-succeeds");
    expect(error).toBeUndefined();
    expect(reader.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(shape(text)).toContain(
      [
        '#5 [stage-0 2/4] RUN echo hello && printf "no newline" && echo " err" >&2',
        "#5 sha256:<digest>",
        "#5 <t> hello",
        "#5 <t>  err",
        "#5 <t> no newline",
        "#5 DONE <s>",
        "",
        "#6 [stage-0 3/4] RUN --mount=type=cache,target=/c true",
      ].join("\n"),
    );
    expect(shape(text)).toContain("#4 [stage-0 1/4] FROM docker.io/library/busybox:latest\n");
    expect(text).toMatch(/^#4 CACHED$/m);
    expect(shape(text)).toContain(
      "#8 exporting to image\n#8 sha256:<digest>\n#8 exporting layers <s> done\n",
    );
    expect(text).toContain("#8 naming to localhost/pdu-buildkit-fixture:1 done\n");
    // Every step that started is closed, and the text ends with the last one.
    expect(text.trimEnd().split("\n").at(-1)).toMatch(/^#8 DONE \d+\.\ds$/);
  });

  it("reports each step as typed events: started first, then cached, completed or error", async () => {
    const { events } = await replay("buildkit-succeeds");
    const vertexes = events.filter((event) => event.type === "vertex");
    const byNumber = new Map<number, string[]>();
    for (const event of vertexes) {
      byNumber.set(event.number, [...(byNumber.get(event.number) ?? []), event.state]);
    }
    for (const states of byNumber.values()) {
      expect(states[0]).toBe("started");
      expect(states.at(-1)).toMatch(/^(completed|cached)$/);
    }
    expect(byNumber.get(4)?.at(-1)).toBe("cached");
    const run = vertexes.find((event) => event.name.startsWith("[stage-0 2/4] RUN echo hello"));
    expect(run).toMatchObject({ number: 5, state: "started", error: undefined });
    expect(run?.started).toBeInstanceOf(Date);
    expect(run?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("keeps RUN output as bytes, by stream, and as text", async () => {
    const { events } = await replay("buildkit-succeeds");
    const logs = events.filter((event) => event.type === "vertex-log");
    expect(logs.map((log) => [log.number, log.stream, log.text])).toEqual([
      [5, 1, "hello\n"],
      [5, 2, " err\n"],
      [5, 1, "no newline"],
    ]);
    expect(Buffer.from(logs[0]?.data ?? [])).toEqual(Buffer.from("hello\n"));
    const statuses = events.filter((event) => event.type === "vertex-status");
    expect(statuses.map((status) => [status.id, status.completed])).toContainEqual([
      "exporting layers",
      true,
    ]);
    expect(events.filter((event) => event.type === "image-id")).toHaveLength(1);
  });

  it("rejects with the failing step's name and its last lines", async () => {
    const { error, text } = await replay("buildkit-run-fails");
    expect(error).toBeInstanceOf(BuildError);
    const failure = error as BuildError;
    expect(failure.message).toBe(
      'executor failed running [/bin/sh -c echo about-to-fail && printf "partial" && exit 3]: exit code: 3',
    );
    expect(failure.step).toBe('[2/2] RUN echo about-to-fail && printf "partial" && exit 3');
    expect(failure.logTail).toEqual(["about-to-fail", "partial"]);
    // The CLI's summary follows the step's error in the text.
    expect(shape(text)).toContain(
      [
        "#5 <t> partial",
        '#5 ERROR: executor failed running [/bin/sh -c echo about-to-fail && printf "partial" && exit 3]: exit code: 3',
        "------",
        ' > [2/2] RUN echo about-to-fail && printf "partial" && exit 3:',
        "#5 <t> about-to-fail",
        "#5 <t> partial",
        "------",
      ].join("\n"),
    );
  });

  it("says what to do when the engine has no bridge network", async () => {
    const { error } = await replay("buildkit-no-bridge");
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).toBe(
      'executor failed running [/bin/sh -c echo x]: network bridge not found (this engine has no "bridge" network, the default of RUN steps: pass networkMode: "host" or "none")',
    );
    expect((error as BuildError).step).toBe("[2/2] RUN echo x");
    expect(explainBuildKitError("exit code: 1")).toBe("exit code: 1");
  });

  it("reports an error line without a trace as the engine's message", () => {
    const reader = new BuildKitStream();
    expect(() =>
      reader.handle({
        kind: "message",
        message: { errorDetail: { message: "no active sessions" }, error: "no active sessions" },
      }),
    ).toThrow(BuildError);
  });

  it("writes nothing anywhere without streamProgressTo and ignores traces it cannot read", () => {
    const reader = new BuildKitStream();
    reader.handle({
      kind: "message",
      message: { id: "moby.buildkit.trace", aux: "not protobuf!" } as never,
    });
    reader.handle({ kind: "message", message: { id: "moby.image.id", aux: { ID: "sha256:1" } } });
    reader.flush();
    expect(reader.imageId).toBe("sha256:1");
  });
});

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

describe("PlainProgress", () => {
  it("waits at most 100 ms between writes, so a quickly changing status prints once", () => {
    let now = 0;
    let text = "";
    const printer = new PlainProgress(
      (chunk) => {
        text += chunk;
      },
      () => now,
    );
    const status = (current: number, completed?: number) => ({
      vertexes: [],
      statuses: [
        {
          id: "transferring context:",
          vertex: "sha256:a",
          name: "",
          current,
          total: 0,
          timestamp: now,
          started: 0,
          completed,
        },
      ],
      logs: [],
    });
    printer.update({
      vertexes: [vertex("sha256:a", "[internal] load build context", { started: 0 })],
      statuses: [],
      logs: [],
    });
    now = 20;
    printer.update(status(1000));
    now = 40;
    printer.update(status(5000, 40));
    printer.flush();
    expect(text).toBe(
      "#1 [internal] load build context\n#1 sha256:a\n#1 transferring context: 5.00kB 0.0s done\n",
    );
  });

  it("marks a step interrupted by another's output with ...", () => {
    let text = "";
    let now = 0;
    const printer = new PlainProgress(
      (chunk) => {
        text += chunk;
      },
      () => now,
    );
    const log = (digest: string, msg: string, at: number) => ({
      vertexes: [],
      statuses: [],
      logs: [{ vertex: digest, timestamp: at, stream: 1, msg: Buffer.from(msg) }],
    });
    printer.update({
      vertexes: [
        vertex("sha256:a", "[a 1/1] RUN a", { started: 0 }),
        vertex("sha256:b", "[b 1/1] RUN b", { started: 0 }),
      ],
      statuses: [],
      logs: [],
    });
    now = 200;
    printer.update(log("sha256:a", "from a\n", 150));
    now = 400;
    printer.update(log("sha256:b", "from b\n", 2500));
    now = 600;
    printer.update({
      vertexes: [vertex("sha256:b", "[b 1/1] RUN b", { started: 0, completed: 3000 })],
      statuses: [],
      logs: [],
    });
    printer.flush();
    expect(text).toBe(
      [
        "#1 [a 1/1] RUN a",
        "#1 sha256:a",
        "#1 0.150 from a",
        "#1 ...",
        "",
        "#2 [b 1/1] RUN b",
        "#2 sha256:b",
        "#2 2.500 from b",
        "#2 DONE 3.0s",
        "",
      ].join("\n"),
    );
  });

  it("formats sizes as the CLI does", () => {
    expect(formatBytes(0)).toBe("0B");
    expect(formatBytes(999)).toBe("999B");
    expect(formatBytes(1000)).toBe("1.00kB");
    expect(formatBytes(48_210_000)).toBe("48.21MB");
    expect(formatBytes(1_073_741_824)).toBe("1.07GB");
  });
});

describe("VertexTracker", () => {
  it("numbers steps in order of first appearance and names the failed one", () => {
    const tracker = new VertexTracker();
    tracker.update({
      vertexes: [vertex("sha256:a", "[1/2] FROM x", {}), vertex("sha256:b", "[2/2] RUN y", {})],
      statuses: [],
      logs: [],
    });
    const events = tracker.update({
      vertexes: [
        vertex("sha256:b", "[2/2] RUN y", { started: 1, completed: 2, error: "exit code: 1" }),
      ],
      statuses: [],
      logs: [{ vertex: "sha256:b", timestamp: 1, stream: 2, msg: Buffer.from("boom\n") }],
    });
    expect(
      events.map((event) => [event.type, event.number, "state" in event ? event.state : ""]),
    ).toEqual([
      ["vertex", 2, "started"],
      // The step's output first, then its end, as `--progress=plain` prints them.
      ["vertex-log", 2, ""],
      ["vertex", 2, "error"],
    ]);
    expect(tracker.failure).toEqual({
      step: "[2/2] RUN y",
      error: "exit code: 1",
      logTail: ["boom"],
    });
  });

  it("ends a step after the sub-tasks the same update finishes for it", () => {
    const tracker = new VertexTracker();
    tracker.update({
      vertexes: [vertex("sha256:e", "exporting to image", { started: 1 })],
      statuses: [],
      logs: [],
    });
    const events = tracker.update({
      vertexes: [
        vertex("sha256:e", "exporting to image", { started: 1, completed: 2 }),
        vertex("sha256:f", "[internal] load metadata", { started: 1, cached: true }),
      ],
      statuses: [
        {
          id: "writing image sha256:1",
          vertex: "sha256:e",
          name: "",
          current: 0,
          total: 0,
          timestamp: undefined,
          started: 1,
          completed: 2,
        },
      ],
      logs: [],
    });
    expect(
      events.map((event) => `${event.type} ${event.number} ${"state" in event ? event.state : ""}`),
    ).toEqual([
      "vertex 2 started",
      // A step with nothing else in the update ends where it is.
      "vertex 2 cached",
      "vertex-status 1 ",
      "vertex 1 completed",
    ]);
  });

  it("decodes text split inside a UTF-8 character across log messages", () => {
    const tracker = new VertexTracker();
    tracker.update({
      vertexes: [vertex("sha256:a", "RUN", { started: 1 })],
      statuses: [],
      logs: [],
    });
    const bytes = Buffer.from("€\n");
    const texts = [bytes.subarray(0, 1), bytes.subarray(1)].flatMap((msg) =>
      tracker
        .update({
          vertexes: [],
          statuses: [],
          logs: [{ vertex: "sha256:a", timestamp: 1, stream: 1, msg }],
        })
        .map((event) => (event.type === "vertex-log" ? event.text : "")),
    );
    expect(texts.join("")).toBe("€\n");
  });

  it("prefers a real failure to the cancellation of the steps beside it", () => {
    const tracker = new VertexTracker();
    tracker.update({
      vertexes: [
        vertex("sha256:a", "[a] RUN sleep", {
          started: 1,
          completed: 2,
          error: "context canceled",
        }),
        vertex("sha256:b", "[b] RUN false", { started: 1, completed: 2, error: "exit code: 1" }),
      ],
      statuses: [],
      logs: [],
    });
    expect(tracker.failure?.step).toBe("[b] RUN false");
  });
});
