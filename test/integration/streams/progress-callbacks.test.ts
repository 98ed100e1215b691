// The caller's progress callbacks (issue 17, item 6) on the real engine: a `streamProgressTo`
// whose write throws, a stream that emits an error, and an `onProgress` listener that throws on
// any kind of event reject the build or push with that very error, never kill the process, and
// are never retried.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type Builder, buildImage, type ProgressEvent, pushImage } from "../../../src/index.js";
import { bust, contextWith } from "../buildkit-helpers.js";
import { REGISTRY_URL, testRepository, uniqueTag } from "../support.js";

const BUILDERS: readonly Builder[] = ["classic", "buildkit"];

/** A context whose RUN prints for a while, so progress arrives across several redraws. */
function slowContext(): Promise<string> {
  return contextWith({
    Dockerfile: [
      "FROM busybox:latest",
      "ARG BUST",
      'RUN echo "first $BUST"; for i in 1 2 3 4 5 6; do echo "line $i"; sleep 0.2; done',
      "",
    ].join("\n"),
  });
}

/** The build settings the tests share: no network, a cache-busting argument, quick retries. */
const common = (builder: Builder) =>
  ({ builder, networkMode: "none", buildArgs: { BUST: bust() }, retryDelayMs: 1 }) as const;

/** A writable whose write throws `error` from call number `from` on, counting the calls. */
class ThrowingWritable extends Writable {
  calls = 0;
  readonly #error: Error;
  readonly #from: number;

  constructor(error: Error, from: number) {
    super({ write: (_chunk, _encoding, callback) => callback() });
    this.#error = error;
    this.#from = from;
  }

  override write(
    chunk: unknown,
    encoding?: BufferEncoding | ((error?: Error | null) => void),
    callback?: (error?: Error | null) => void,
  ): boolean {
    this.calls += 1;
    if (this.calls >= this.#from) throw this.#error;
    return super.write(chunk, encoding as BufferEncoding, callback);
  }
}

/** Whether `run` resolves with no uncaught exception in between; resolves to its outcome. */
async function settle(
  run: () => Promise<unknown>,
): Promise<{ error: unknown; uncaught: unknown[] }> {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  try {
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    // A timer that fires after the build settled would throw then.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { error, uncaught };
  } finally {
    process.off("uncaughtException", onUncaught);
  }
}

describe.each(BUILDERS)("a %s build", (builder) => {
  it.each([1, 3])(
    "rejects with the error that streamProgressTo.write throws from call %i on, never retried",
    async (from) => {
      const dir = await slowContext();
      // EPIPE would be retried were it the engine's: a caller's error never is.
      const failure = Object.assign(new Error("disk full"), { code: "EPIPE" });
      const stream = new ThrowingWritable(failure, from);
      const events: ProgressEvent[] = [];
      const { error, uncaught } = await settle(() =>
        buildImage(dir, {
          ...common(builder),
          streamProgressTo: stream,
          onProgress: (event) => events.push(event),
        }),
      );
      expect(uncaught).toEqual([]);
      expect(error).toBe(failure);
      expect(stream.calls).toBe(from);
      expect(events.filter((event) => event.type === "retry")).toEqual([]);
    },
  );

  it("rejects with the error a streamProgressTo emits", async () => {
    const dir = await slowContext();
    const failure = new Error("no space left on device");
    const stream = new Writable({ write: (_chunk, _encoding, callback) => callback(failure) });
    const { error, uncaught } = await settle(() =>
      buildImage(dir, { ...common(builder), streamProgressTo: stream }),
    );
    expect(uncaught).toEqual([]);
    expect(error).toBe(failure);
  });

  const kinds =
    builder === "classic"
      ? ["step", "output", "image-id"]
      : ["vertex", "vertex-log", "vertex-status", "image-id"];
  it.each(kinds)(
    "rejects with the error an onProgress listener throws on a %s event",
    async (kind) => {
      const dir = await slowContext();
      const failure = Object.assign(new Error(`listener failed on ${kind}`), {
        code: "ECONNRESET",
      });
      let thrown = 0;
      const { error, uncaught } = await settle(() =>
        buildImage(dir, {
          ...common(builder),
          tag: uniqueTag(),
          onProgress: (event) => {
            if (event.type === kind) {
              thrown += 1;
              throw failure;
            }
          },
        }),
      );
      expect(uncaught).toEqual([]);
      expect(error).toBe(failure);
      expect(thrown).toBe(1);
    },
  );
});

describe("a push", () => {
  it("rejects with the error that streamProgressTo.write throws, never retried", async () => {
    const dir = await contextWith({ Dockerfile: `FROM busybox:latest\nLABEL bust=${bust()}\n` });
    const image = await buildImage(dir, { tag: uniqueTag() });
    const failure = Object.assign(new Error("closed"), { code: "EPIPE" });
    const stream = new ThrowingWritable(failure, 1);
    const { error, uncaught } = await settle(() =>
      pushImage(image, REGISTRY_URL, testRepository("callbacks"), {
        streamProgressTo: stream,
        retryDelayMs: 1,
      }),
    );
    expect(uncaught).toEqual([]);
    expect(error).toBe(failure);
    expect(stream.calls).toBe(1);
  });

  it("rejects with the error a streamProgressTo emits", async () => {
    const dir = await contextWith({ Dockerfile: `FROM busybox:latest\nLABEL bust=${bust()}\n` });
    const image = await buildImage(dir, { tag: uniqueTag() });
    const failure = new Error("no space left on device");
    const stream = new Writable({ write: (_chunk, _encoding, callback) => callback(failure) });
    const { error, uncaught } = await settle(() =>
      pushImage(image, REGISTRY_URL, testRepository("callbacks"), { streamProgressTo: stream }),
    );
    expect(uncaught).toEqual([]);
    expect(error).toBe(failure);
  });

  it.each(["status", "digest"])(
    "rejects with the error an onProgress listener throws on a %s event",
    async (kind) => {
      const dir = await contextWith({ Dockerfile: `FROM busybox:latest\nLABEL bust=${bust()}\n` });
      const image = await buildImage(dir, { tag: uniqueTag() });
      const failure = Object.assign(new Error(`listener failed on ${kind}`), { code: "EPIPE" });
      let thrown = 0;
      const { error, uncaught } = await settle(() =>
        pushImage(image, REGISTRY_URL, testRepository("callbacks"), {
          retryDelayMs: 1,
          onProgress: (event) => {
            if (event.type === kind) {
              thrown += 1;
              throw failure;
            }
          },
        }),
      );
      expect(uncaught).toEqual([]);
      expect(error).toBe(failure);
      expect(thrown).toBe(1);
    },
  );
});
