import { describe, expect, it } from "vitest";
import { BuildError, PushError } from "../src/errors.js";
import {
  isTransientError,
  isTransientMessage,
  retryDelay,
  withRetries,
} from "../src/streams/retry.js";

describe("transient errors", () => {
  it.each([
    "502 Bad Gateway",
    "received unexpected HTTP status: 503 Service Unavailable",
    "500 Internal Server Error",
    "dial tcp: i/o timeout",
    "net/http: TLS handshake timeout",
    "read: Connection Reset by peer",
    "context deadline exceeded",
  ])("matches Prefect's pattern in %j", (message) => {
    expect(isTransientMessage(message)).toBe(true);
    expect(isTransientError(new BuildError(message))).toBe(true);
  });

  it.each([
    "unauthorized: authentication required",
    "denied: requested access to the resource is denied",
    "manifest unknown: manifest unknown",
    "Cannot locate specified Dockerfile: Nowhere",
    "The command '/bin/sh -c false' returned a non-zero code: 1",
    "COPY failed: file not found in build context",
  ])("never retries %j", (message) => {
    expect(isTransientError(new BuildError(message))).toBe(false);
    expect(isTransientError(new PushError(message, { statusCode: 503 }))).toBe(false);
  });

  it("retries connection resets, EOFs and the statuses 408, 429 and 5xx", () => {
    expect(
      isTransientError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })),
    ).toBe(true);
    expect(isTransientError(new PushError("unexpected EOF"))).toBe(true);
    for (const statusCode of [408, 429, 500, 502, 503, 504]) {
      expect(isTransientError(new PushError("failed", { statusCode }))).toBe(true);
    }
    expect(isTransientError(new PushError("failed", { statusCode: 400 }))).toBe(false);
  });
});

describe("withRetries", () => {
  it("waits 2, 4 and 8 seconds by default, as Prefect does", () => {
    expect([1, 2, 3].map((n) => retryDelay(n))).toEqual([2000, 4000, 8000]);
  });

  it("adds at most the given jitter", () => {
    expect(retryDelay(1, { retryJitter: 0.5 }, () => 1)).toBe(3000);
    expect(retryDelay(1, { retryJitter: 0.5 }, () => 0)).toBe(2000);
  });

  it("retries transient failures until one succeeds and reports each retry", async () => {
    const retries: number[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls++;
        if (calls < 3) throw new BuildError("503 Service Unavailable");
        return "done";
      },
      { retryDelayMs: 1, onRetry: ({ attempt }) => retries.push(attempt) },
    );
    expect(result).toBe("done");
    expect(retries).toEqual([1, 2]);
  });

  it("gives up after the configured retries with the last error", async () => {
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw new BuildError(`503 Service Unavailable #${calls}`);
        },
        { retries: 2, retryDelayMs: 1 },
      ),
    ).rejects.toThrow("#3");
    expect(calls).toBe(3);
  });

  it("does not retry permanent failures", async () => {
    let calls = 0;
    await expect(
      withRetries(async () => {
        calls++;
        throw new BuildError("returned a non-zero code: 1");
      }),
    ).rejects.toThrow(BuildError);
    expect(calls).toBe(1);
  });

  it("stops waiting at once when aborted", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = withRetries(
      async () => {
        throw new BuildError("502 Bad Gateway");
      },
      { retryDelayMs: 60_000, signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error("stop now")), 20);
    await expect(pending).rejects.toThrow("stop now");
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
