// Errors of the caller's callbacks (issue 17, item 6): they end an operation as they are, never
// retried and never wrapped, whatever they look like.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { Attempt } from "../../src/operation/attempt.js";
import { withRetries } from "../../src/operation/retry.js";
import { callerError, guardedListener, isCallerError } from "../../src/streams/caller-error.js";
import { writeProgress } from "../../src/streams/progress.js";

describe("caller errors", () => {
  it("are never retried, even when they look like a connection reset", async () => {
    const failure = Object.assign(new Error("connection reset by peer"), { code: "ECONNRESET" });
    let attempts = 0;
    const outcome = withRetries(
      async () => {
        attempts += 1;
        const listener = guardedListener(() => {
          throw failure;
        });
        listener?.({ type: "output", text: "x" });
      },
      { retries: 3, retryDelayMs: 1 },
    );
    await expect(outcome).rejects.toBe(failure);
    expect(attempts).toBe(1);
  });

  it("leave an engine's error of the same shape retried", async () => {
    const failure = Object.assign(new Error("connection reset by peer"), { code: "ECONNRESET" });
    let attempts = 0;
    await expect(
      withRetries(
        async () => {
          attempts += 1;
          throw failure;
        },
        { retries: 2, retryDelayMs: 1 },
      ),
    ).rejects.toBe(failure);
    expect(attempts).toBe(3);
    expect(isCallerError(failure)).toBe(false);
  });

  it("reject with what a retry listener throws, at the first retry", async () => {
    const failure = new Error("listener broke");
    let attempts = 0;
    await expect(
      withRetries(
        async () => {
          attempts += 1;
          throw Object.assign(new Error("EOF"), { code: "ECONNRESET" });
        },
        {
          retries: 3,
          retryDelayMs: 1,
          onRetry: () => {
            throw failure;
          },
        },
      ),
    ).rejects.toBe(failure);
    expect(attempts).toBe(1);
  });

  it("come out of writeProgress as the very error the stream's write threw", () => {
    const failure = new Error("EBADF");
    const stream = new Writable({ write: (_c, _e, callback) => callback() });
    stream.write = () => {
      throw failure;
    };
    expect(() => writeProgress(stream, "text")).toThrow(failure);
    expect(isCallerError(failure)).toBe(true);
  });

  it("keep thrown primitives as they are", () => {
    expect(callerError("stop")).toBe("stop");
    expect(isCallerError("stop")).toBe(false);
  });
});

describe("Attempt.failOnStreamError", () => {
  it("fails the attempt with the error a progress stream emits, then lets the stream go", async () => {
    const failure = new Error("no space left on device");
    const stream = new Writable({ write: (_c, _e, callback) => callback(failure) });
    const before = stream.listenerCount("error");
    {
      using attempt = new Attempt(undefined, undefined);
      attempt.failOnStreamError(stream);
      stream.write("x");
      // Recorded at once, emitted a tick later: checkStreams sees it first.
      attempt.checkStreams();
      expect(attempt.signal.aborted).toBe(true);
      expect(attempt.reason).toBe(failure);
      expect(isCallerError(failure)).toBe(true);
    }
    // The error still comes, a tick later, and finds the attempt's listener, not the process.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.listenerCount("error")).toBe(before);
  });

  it("removes its listener from a healthy stream when disposed", () => {
    const stream = new Writable({ write: (_c, _e, callback) => callback() });
    const before = stream.listenerCount("error");
    {
      using attempt = new Attempt(undefined, undefined);
      attempt.failOnStreamError(stream);
      expect(stream.listenerCount("error")).toBe(before + 1);
    }
    expect(stream.listenerCount("error")).toBe(before);
  });
});
