import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BuildError, EngineHttpError, PushError } from "../../src/errors.js";
import {
  DETERMINISTIC_MESSAGES,
  isTransientError,
  isTransientMessage,
  REGISTRY_RACE_MESSAGES,
  retryDelay,
  withRetries,
} from "../../src/operation/retry.js";
import { readJsonLines } from "../../src/streams/json-lines.js";
import { PushStream } from "../../src/streams/push-stream.js";

const fixtures = path.resolve(import.meta.dirname, "../fixtures");

/** Engine answers recorded from Debian's docker.io 20.10 with curl (status 200: in the stream). */
const recordedErrors = JSON.parse(
  readFileSync(path.join(fixtures, "engine-errors.json"), "utf8"),
) as { name: string; request: string; status: number; message: string }[];

/** The error an operation rejects with for a recorded answer, as build-image.ts makes it. */
function asBuildError({ status, message }: { status: number; message: string }): BuildError {
  if (status === 200) return new BuildError(message);
  return new BuildError(message, {
    statusCode: status,
    cause: new EngineHttpError(message, status),
  });
}

/** The PushError a recorded push stream ends with. */
async function pushErrorOf(name: string): Promise<PushError> {
  const bytes = readFileSync(path.join(fixtures, "engine-streams", `${name}.jsonl`));
  const reader = new PushStream({ tag: "t" });
  const error = await readJsonLines(Readable.from([bytes]), (line) => reader.handle(line)).catch(
    (e: unknown) => e,
  );
  if (!(error instanceof PushError)) throw new Error(`${name} did not end with a PushError`);
  return error;
}

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

describe("what the engine said decides, not the status alone", () => {
  it.each(recordedErrors.map((r) => [r.name, r.status, r.message, r] as const))(
    "never retries %s (HTTP %d: %j)",
    (_name, _status, _message, recorded) => {
      expect(isTransientError(asBuildError(recorded))).toBe(false);
    },
  );

  it("recorded a 500 for a Dockerfile path that is a folder and for an upper-case tag (issue 12)", () => {
    const byName = new Map(recordedErrors.map((r) => [r.name, r]));
    expect(byName.get("build-dockerfile-is-a-folder")).toMatchObject({
      status: 500,
      message: expect.stringMatching(/^unexpected error reading Dockerfile: .*: is a directory$/),
    });
    expect(byName.get("build-tag-upper-case")).toMatchObject({
      status: 500,
      message: "invalid reference format: repository name must be lowercase",
    });
  });

  it("knows every message the engine sent with HTTP 500 by an entry with its source", () => {
    const answered500 = recordedErrors.filter((r) => r.status === 500);
    expect(answered500.length).toBeGreaterThanOrEqual(5);
    for (const { message } of answered500) {
      // The message alone decides: even a push answered 500 with it is not retried.
      expect(isTransientError(new PushError(message, { statusCode: 500 })), message).toBe(false);
      const known = DETERMINISTIC_MESSAGES.filter(({ text }) =>
        message.toLowerCase().includes(text),
      );
      expect(known.length, message).toBeGreaterThan(0);
      for (const entry of known) expect(entry.source).not.toBe("");
    }
  });

  it("makes one attempt, not four over 14 s, for a Dockerfile path that is a folder", async () => {
    const folder = recordedErrors.find((r) => r.name === "build-dockerfile-is-a-folder");
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw asBuildError(folder ?? { status: 0, message: "" });
        },
        { retryDelayMs: 1 },
      ),
    ).rejects.toThrow(/is a directory/);
    expect(calls).toBe(1);
  });

  it("still retries a 500 whose message it does not know", () => {
    const error = new BuildError("something odd happened", {
      statusCode: 500,
      cause: new EngineHttpError("something odd happened", 500),
    });
    expect(isTransientError(error)).toBe(true);
  });

  it("keeps Prefect's patterns first: a known message that also names one is retried", () => {
    expect(isTransientError(new BuildError("manifest for x not found: i/o timeout"))).toBe(true);
  });
});

describe("a registry race between concurrent pushes", () => {
  it.each([
    ["push-race-digest-invalid", /^errors:\ndigest invalid\nmanifest blob unknown/],
    ["push-race-registry-500", /500 Internal Server Error/],
  ])("is retried: the recorded %s", async (name, text) => {
    const error = await pushErrorOf(name);
    expect(error.message).toMatch(text);
    expect(isTransientError(error)).toBe(true);
  });

  it.each(REGISTRY_RACE_MESSAGES.map((m) => [m.text, m.source]))(
    "is retried for %j (%s)",
    (text) => {
      expect(isTransientError(new PushError(`${text}: x`))).toBe(true);
    },
  );

  it("lets a push that met the race succeed on the next attempt", async () => {
    const race = await pushErrorOf("push-race-digest-invalid");
    const retried: Error[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls++;
        if (calls === 1) throw race;
        return "sha256:pushed";
      },
      { retryDelayMs: 1, onRetry: ({ error }) => retried.push(error) },
    );
    expect(result).toBe("sha256:pushed");
    expect(retried).toEqual([race]);
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
    const pending = withRetries(
      async () => {
        throw new BuildError("502 Bad Gateway");
      },
      { retryDelayMs: 60_000, signal: controller.signal },
    );
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort(new Error("stop now"));
    }, 20);
    await expect(pending).rejects.toThrow("stop now");
    // What this test is about: the 60 s wait ends at the abort (a generous margin for load).
    expect(performance.now() - abortedAt).toBeLessThan(5_000);
  });
});
