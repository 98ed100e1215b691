// The command line's pure pieces: text helpers, flag parsing, and the plain and json renderers.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBuildArgs, parseSecrets, parseSsh, parseTags } from "../../src/cli/build-flags.js";
import { Cancellation, Cancelled, type CancelSignal } from "../../src/cli/cancellation.js";
import {
  humanSize,
  LineSplitter,
  progressBar,
  sanitizeLine,
  seconds,
  shortId,
  textWidth,
  truncate,
} from "../../src/cli/format.js";
import { eventToJson } from "../../src/cli/progress/json-renderer.js";
import { PlainRenderer } from "../../src/cli/progress/plain-renderer.js";
import { resolveProgressMode } from "../../src/cli/progress/renderer.js";
import { describeError } from "../../src/cli/report-error.js";
import { BuildError, InvalidArgumentError, type ProgressEvent } from "../../src/index.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe("sanitizeLine", () => {
  it.each([
    ["\u001b[31mred\u001b[0m", "red"],
    ["\u001b]0;window title\u0007text", "text"],
    ["\u001b]8;;https://x\u001b\\link\u001b]8;;\u001b\\", "link"],
    ["\u001b(Bcharset", "charset"],
    ["progress 10%\rprogress 50%\rdone", "done"],
    ["a\tb", "a  b"],
    ["bell\u0007 and nul\u0000 and del\u007f and c1\u009b", "bell and nul and del and c1"],
    ["plain text", "plain text"],
  ])("makes %j safe as %j", (input, output) => {
    expect(sanitizeLine(input)).toBe(output);
  });

  it("never leaves a control character, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        expect(sanitizeLine(text.replaceAll("\n", ""))).not.toMatch(CONTROL);
      }),
    );
  });
});

describe("LineSplitter", () => {
  it("gives complete lines across chunks and keeps the rest for later", () => {
    const splitter = new LineSplitter();
    expect(splitter.push("one\ntw")).toEqual(["one"]);
    expect(splitter.push("o\nthree")).toEqual(["two"]);
    expect(splitter.flush()).toEqual(["three"]);
    expect(splitter.flush()).toEqual([]);
  });

  it("bounds a line that never ends", () => {
    const splitter = new LineSplitter(10);
    for (let i = 0; i < 1_000; i++) splitter.push("x".repeat(1_000));
    expect(splitter.flush()).toEqual(["x".repeat(10)]);
    expect(splitter.push(`${"y".repeat(50)}\n`)).toEqual(["y".repeat(10)]);
  });
});

describe("text helpers", () => {
  it.each([
    [0, "0B"],
    [512, "512B"],
    [999, "999B"],
    [1000, "1kB"],
    [12_345, "12.3kB"],
    [1_234_567, "1.23MB"],
    [45_600_000, "45.6MB"],
    [3_000_000_000, "3GB"],
    [Number.NaN, "?"],
    [-1, "?"],
  ])("prints %d bytes as %j, as the docker CLI does", (bytes, text) => {
    expect(humanSize(bytes)).toBe(text);
  });

  it.each([
    [0, 10, 12, "[>         ]"],
    [5, 10, 12, "[=====>    ]"],
    [10, 10, 12, "[==========]"],
    [20, 10, 12, "[==========]"],
    [3, 0, 6, "[>   ]"],
  ])("draws %d of %d in %d columns as %j", (current, total, width, bar) => {
    expect(progressBar(current, total, width)).toBe(bar);
    expect(bar).toHaveLength(width);
  });

  it("formats durations, cuts text and shortens IDs", () => {
    expect(seconds(0)).toBe("0.0s");
    expect(seconds(12_345)).toBe("12.3s");
    expect(seconds(-5)).toBe("0.0s");
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
    expect(truncate("abc", 0)).toBe("");
    // Wide characters take two columns: a cut line never wraps on a terminal.
    expect(truncate("日本語のテキスト", 7)).toBe("日本語…");
    expect(textWidth("日本語…")).toBe(7);
    expect(truncate("ab日本", 6)).toBe("ab日本");
    expect(truncate("ab日本x", 6)).toBe("ab日…");
    expect(shortId(`sha256:${"0123456789ab".repeat(5)}abcd`)).toBe("0123456789ab");
  });
});

describe("build flags", () => {
  it("reads --secret as docker build does", () => {
    expect(
      parseSecrets(
        [
          "id=token,src=secret.txt",
          "id=aws,env=AWS_KEY",
          "id=x,type=file,source=/abs/x",
          "id=y,type=env,env=Y",
        ],
        "/work",
      ),
    ).toEqual({
      token: { file: "/work/secret.txt" },
      aws: { env: "AWS_KEY" },
      x: { file: "/abs/x" },
      y: { env: "Y" },
    });
  });

  it.each([
    ["id=a", /needs exactly one of src=PATH and env=VAR/],
    ["id=a,src=x,env=Y", /needs exactly one/],
    ["src=x", /--secret needs id=ID/],
    ["id=a,src", /--secret "id=a": a part is not KEY=VALUE/],
    ["id=a,mode=0400,src=x", /unknown key "mode"/],
    ["id=a,type=ssh,src=x", /type must be file or env/],
    ["id=a,type=env,src=x", /src must be a file path/],
    ["id=a,type=file,env=X", /env must name an environment variable/],
  ])("refuses --secret %j", (value, message) => {
    expect(() => parseSecrets([value], "/")).toThrow(InvalidArgumentError);
    expect(() => parseSecrets([value], "/")).toThrow(message);
  });

  it("refuses a secret id given twice", () => {
    expect(() => parseSecrets(["id=a,env=A", "id=a,env=B"], "/")).toThrow(/given twice/);
  });

  it("reads --ssh as default, default=SOCKET or ID=SOCKET", () => {
    expect(parseSsh(["default", "work=agent.sock"], "/home/me")).toEqual({
      default: true,
      work: "/home/me/agent.sock",
    });
    expect(() => parseSsh(["default=a,b"], "/")).toThrow(/one agent socket path/);
    expect(() => parseSsh(["bad id"], "/")).toThrow(/use default, default=SOCKET or ID=SOCKET/);
    expect(() => parseSsh(["default", "default=/x"], "/")).toThrow(/given twice/);
  });

  it("reads --build-arg KEY=VALUE and KEY from the environment, leaving unset ones out", () => {
    expect(parseBuildArgs(["A=1", "B=", "C=x=y", "FROM_ENV", "UNSET"], { FROM_ENV: "e" })).toEqual({
      A: "1",
      B: "",
      C: "x=y",
      FROM_ENV: "e",
    });
    expect(() => parseBuildArgs(["=1"], {})).toThrow(/use KEY=VALUE/);
  });

  it("splits -t names for the engine's tag call and for pushing", () => {
    expect(
      parseTags(["app", "team/app:v1", "localhost:5000/x/y:2", "docker.io/library/z:t"]),
    ).toEqual([
      { reference: "app", repository: "app", tag: "latest", pushName: "app", explicitTag: false },
      {
        reference: "team/app:v1",
        repository: "team/app",
        tag: "v1",
        pushName: "team/app",
        explicitTag: true,
      },
      {
        reference: "localhost:5000/x/y:2",
        repository: "localhost:5000/x/y",
        tag: "2",
        pushName: "x/y",
        explicitTag: true,
      },
      {
        reference: "docker.io/library/z:t",
        repository: "docker.io/library/z",
        tag: "t",
        pushName: "z",
        explicitTag: true,
      },
    ]);
    expect(() => parseTags(["App"])).toThrow(/-t "App" is not a valid image reference/);
  });
});

describe("progress mode", () => {
  it("is tty on a terminal and plain elsewhere for auto, and as asked otherwise", () => {
    expect(resolveProgressMode("auto", { write() {}, isTTY: true })).toBe("tty");
    expect(resolveProgressMode("auto", { write() {} })).toBe("plain");
    expect(resolveProgressMode("json", { write() {}, isTTY: true })).toBe("json");
    expect(resolveProgressMode("plain", { write() {}, isTTY: true })).toBe("plain");
  });
});

function plainOutput(events: ProgressEvent[], now: () => number = () => 0): string {
  let out = "";
  const renderer = new PlainRenderer({ write: (text: string) => (out += text) }, now);
  renderer.start("build", "ctx");
  for (const event of events) renderer.onProgress(event);
  renderer.end({ kind: "done", summary: [] });
  return out;
}

const STARTED = new Date("2026-01-01T00:00:00.000Z");
const COMPLETED = new Date("2026-01-01T00:00:01.500Z");

describe("PlainRenderer", () => {
  it("prints one line per event, in the engine's words", () => {
    const out = plainOutput([
      { type: "step", step: 1, totalSteps: 2, instruction: "FROM busybox" },
      { type: "output", text: "Step 1/2 : FROM busybox\n" },
      { type: "output", text: " ---> abc\nsome out" },
      { type: "output", text: "put\n" },
      {
        type: "status",
        operation: "pull",
        id: "l1",
        status: "Pull complete",
        progress: undefined,
        current: undefined,
        total: undefined,
      },
      { type: "image-id", imageId: "sha256:0123" },
      { type: "digest", tag: "v1", digest: "sha256:feed", size: 527 },
      {
        type: "retry",
        operation: "push",
        attempt: 1,
        maxAttempts: 4,
        delayMs: 2000,
        error: new Error("EOF"),
      },
    ]);
    expect(out).toBe(
      [
        "building ctx",
        "Step 1/2 : FROM busybox",
        " ---> abc",
        "some output",
        "l1: Pull complete",
        "writing image sha256:0123",
        "v1: digest: sha256:feed size: 527",
        "retrying the push in 2.0s: attempt 1/4 failed: EOF",
        "build finished in 0.0s",
        "",
      ].join("\n"),
    );
  });

  it("prints byte progress of a layer again only after a while, and every change of state", () => {
    let now = 0;
    const status = (state: string, current: number): ProgressEvent => ({
      type: "status",
      operation: "push",
      id: "l1",
      status: state,
      progress: undefined,
      current,
      total: 10_000_000,
    });
    let out = "";
    const renderer = new PlainRenderer({ write: (text: string) => (out += text) }, () => now);
    renderer.start("push", "x");
    for (let i = 1; i <= 10; i++) {
      now += 100;
      renderer.onProgress(status("Pushing", i * 100_000));
    }
    now += 2_000;
    renderer.onProgress(status("Pushing", 5_000_000));
    renderer.onProgress(status("Pushed", 10_000_000));
    expect(out.split("\n").filter((line) => line.startsWith("l1"))).toEqual([
      "l1: Pushing 100kB/10MB",
      "l1: Pushing 5MB/10MB",
      "l1: Pushed 10MB/10MB",
    ]);
  });

  it("prints BuildKit vertices as --progress=plain does", () => {
    const digest = "sha256:v1";
    const out = plainOutput([
      {
        type: "vertex",
        digest,
        number: 1,
        name: "[1/2] RUN echo hi",
        state: "started",
        error: undefined,
        started: STARTED,
        completed: undefined,
      },
      {
        type: "vertex-log",
        digest,
        number: 1,
        stream: 1,
        data: new TextEncoder().encode("hi\n"),
        text: "hi\n",
      },
      // As the engine sends them: the ID says what, the name is only the action.
      {
        type: "vertex-status",
        digest,
        number: 1,
        id: "transferring context:",
        name: "transferring",
        current: 1_000,
        total: 2_000,
        completed: false,
      },
      {
        type: "vertex-status",
        digest,
        number: 1,
        id: "transferring context:",
        name: "transferring",
        current: 2_000,
        total: 2_000,
        completed: true,
      },
      {
        type: "vertex-status",
        digest,
        number: 1,
        id: "exporting layers",
        name: undefined,
        current: 0,
        total: undefined,
        completed: false,
      },
      {
        type: "vertex",
        digest,
        number: 1,
        name: "[1/2] RUN echo hi",
        state: "completed",
        error: undefined,
        started: STARTED,
        completed: COMPLETED,
      },
      {
        type: "vertex",
        digest: "sha256:v2",
        number: 2,
        name: "[2/2] COPY . .",
        state: "cached",
        error: undefined,
        started: undefined,
        completed: undefined,
      },
      {
        type: "vertex",
        digest: "sha256:v3",
        number: 3,
        name: "[3/3] RUN false",
        state: "error",
        error: "exit code: 1",
        started: STARTED,
        completed: COMPLETED,
      },
    ]);
    expect(out.split("\n").slice(1, -2)).toEqual([
      "#1 [1/2] RUN echo hi",
      "#1 hi",
      "#1 transferring context: 1kB / 2kB",
      "#1 transferring context: 2kB / 2kB done",
      "#1 exporting layers",
      "#1 DONE 1.5s",
      "#2 [2/2] COPY . .",
      "#2 CACHED",
      "#3 [3/3] RUN false",
      "#3 ERROR: exit code: 1",
    ]);
  });

  it("never writes a control character, whatever the engine sends", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary" }), { maxLength: 10 }), (texts) => {
        const out = plainOutput([
          ...texts.map((text): ProgressEvent => ({ type: "output", text })),
          ...texts.map(
            (text): ProgressEvent => ({ type: "step", step: 1, totalSteps: 1, instruction: text }),
          ),
          ...texts.map(
            (text): ProgressEvent => ({
              type: "status",
              operation: "pull",
              id: text,
              status: text,
              progress: text,
              current: undefined,
              total: undefined,
            }),
          ),
        ]);
        expect(out).not.toMatch(CONTROL);
      }),
    );
  });
});

describe("eventToJson", () => {
  it("writes bytes as base64, dates as ISO 8601 and errors by name, message and code", () => {
    const log: ProgressEvent = {
      type: "vertex-log",
      digest: "d",
      number: 1,
      stream: 2,
      data: new Uint8Array([0, 1, 2, 255]),
      text: "\u0000\u0001\u0002",
    };
    expect(JSON.parse(eventToJson(log))).toEqual({
      type: "vertex-log",
      digest: "d",
      number: 1,
      stream: 2,
      data: "AAEC/w==",
      text: "\u0000\u0001\u0002",
    });
    const vertex: ProgressEvent = {
      type: "vertex",
      digest: "d",
      number: 1,
      name: "n",
      state: "completed",
      error: undefined,
      started: STARTED,
      completed: COMPLETED,
    };
    expect(JSON.parse(eventToJson(vertex))).toEqual({
      type: "vertex",
      digest: "d",
      number: 1,
      name: "n",
      state: "completed",
      started: "2026-01-01T00:00:00.000Z",
      completed: "2026-01-01T00:00:01.500Z",
    });
    const retry: ProgressEvent = {
      type: "retry",
      operation: "build",
      attempt: 1,
      maxAttempts: 4,
      delayMs: 2_000,
      error: new BuildError("connection reset"),
    };
    expect(JSON.parse(eventToJson(retry)).error).toEqual({
      name: "BuildError",
      message: "connection reset",
      code: "ERR_DOCKER_BUILD",
    });
    expect(eventToJson(log)).not.toMatch(CONTROL);
  });
});

describe("describeError", () => {
  it("gives the message, the failing step, the log tail and the code, all printable", () => {
    const error = new BuildError("returned a non-zero code: 3", {
      step: "Step 3/3 : RUN exit 3",
      logTail: ["Step 3/3 : RUN exit 3\n", " ---> Running in abc\n", "\u001b[31mboom\u001b[0m\n"],
    });
    expect(describeError(error)).toEqual([
      "ERROR: returned a non-zero code: 3",
      "failing step: Step 3/3 : RUN exit 3",
      "log tail:",
      "  | Step 3/3 : RUN exit 3",
      "  |  ---> Running in abc",
      "  | boom",
      "(ERR_DOCKER_BUILD)",
    ]);
  });
});

describe("Cancellation", () => {
  function fakeSignals() {
    const listeners = new Map<CancelSignal, Set<() => void>>();
    return {
      on(signal: CancelSignal, listener: () => void) {
        if (!listeners.has(signal)) listeners.set(signal, new Set());
        listeners.get(signal)?.add(listener);
      },
      off(signal: CancelSignal, listener: () => void) {
        listeners.get(signal)?.delete(listener);
      },
      emit(signal: CancelSignal) {
        for (const listener of listeners.get(signal) ?? []) listener();
      },
      count: () => [...listeners.values()].reduce((sum, set) => sum + set.size, 0),
    };
  }

  it("aborts at the first signal and exits at the second", () => {
    const signals = fakeSignals();
    const second: CancelSignal[] = [];
    const cancellation = new Cancellation(signals, (signal) => second.push(signal));
    expect(cancellation.signal.aborted).toBe(false);
    signals.emit("SIGTERM");
    expect(cancellation.signal.reason).toBeInstanceOf(Cancelled);
    expect(cancellation.cancelledBy).toBe("SIGTERM");
    expect(second).toEqual([]);
    signals.emit("SIGINT");
    expect(second).toEqual(["SIGINT"]);
    expect(cancellation.cancelledBy).toBe("SIGTERM");
  });

  it("stops listening when disposed", () => {
    const signals = fakeSignals();
    {
      using _cancellation = new Cancellation(signals, () => undefined);
      expect(signals.count()).toBe(2);
    }
    expect(signals.count()).toBe(0);
  });
});
