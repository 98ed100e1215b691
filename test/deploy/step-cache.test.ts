// The step cache shares one run among identical concurrent calls; each caller waits with its own
// signal, and the shared run is cancelled only once no caller waits for it any more.
import { describe, expect, it } from "vitest";
import { StepCache } from "../../src/deploy/step-cache.js";

/** Work that runs until its signal aborts or `finish` ends its latest run (`finishRun` any run). */
function controllableWork() {
  const runs: AbortSignal[] = [];
  const resolvers: ((value: number) => void)[] = [];
  const work = (signal: AbortSignal) =>
    new Promise<number>((resolve, reject) => {
      runs.push(signal);
      resolvers.push(resolve);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  const finishRun = (index: number, value: number) => resolvers[index]?.(value);
  return {
    runs,
    work,
    finishRun,
    finish: (value: number) => finishRun(resolvers.length - 1, value),
  };
}

describe("StepCache", () => {
  it("lets one caller's abort reject that caller only, while the shared run goes on", async () => {
    const cache = new StepCache<number>("test");
    const { runs, work, finish } = controllableWork();
    const a = new AbortController();
    const first = cache.run("k", false, work, a.signal);
    const second = cache.run("k", false, work);
    expect(runs).toHaveLength(1);
    const reason = new Error("A gave up");
    a.abort(reason);
    await expect(first).rejects.toBe(reason);
    expect(runs[0]?.aborted).toBe(false);
    finish(7);
    await expect(second).resolves.toBe(7);
    // Done and cached: a later caller gets it without running anything.
    await expect(cache.run("k", false, work)).resolves.toBe(7);
    expect(runs).toHaveLength(1);
  });

  it("cancels the shared run once every caller has left, and forgets it", async () => {
    const cache = new StepCache<number>("test");
    const { runs, work, finish } = controllableWork();
    const a = new AbortController();
    const b = new AbortController();
    const first = cache.run("k", false, work, a.signal);
    const second = cache.run("k", false, work, b.signal);
    a.abort(new Error("A gave up"));
    await expect(first).rejects.toThrow("A gave up");
    expect(runs[0]?.aborted).toBe(false);
    const last = new Error("B gave up");
    b.abort(last);
    await expect(second).rejects.toBe(last);
    expect(runs[0]?.aborted).toBe(true);
    expect(runs[0]?.reason).toBe(last);
    // The next caller runs the work anew instead of joining the cancelled run.
    const third = cache.run("k", false, work);
    expect(runs).toHaveLength(2);
    finish(8);
    await expect(third).resolves.toBe(8);
  });

  it("rejects the last caller once the cancelled run has cleaned up, with that caller's reason", async () => {
    const cache = new StepCache<number>("test");
    let cleaned = false;
    const work = (signal: AbortSignal) =>
      new Promise<number>((_resolve, reject) => {
        signal.addEventListener("abort", () => {
          // Cleanup takes a moment, as removing a temporary Dockerfile does.
          setTimeout(() => {
            cleaned = true;
            reject(new Error("the build was cancelled"));
          }, 50);
        });
      });
    const controller = new AbortController();
    const waiting = cache.run("k", false, work, controller.signal);
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(cleaned).toBe(true);
  });

  it("keeps the run going while a caller without a signal waits", async () => {
    const cache = new StepCache<number>("test");
    const { runs, work, finish } = controllableWork();
    const a = new AbortController();
    const first = cache.run("k", false, work, a.signal);
    const second = cache.run("k", false, work);
    a.abort(new Error("A gave up"));
    await expect(first).rejects.toThrow("A gave up");
    expect(runs[0]?.aborted).toBe(false);
    finish(9);
    await expect(second).resolves.toBe(9);
  });

  it("rejects a caller whose signal is already aborted without running or joining anything", async () => {
    const cache = new StepCache<number>("test");
    const { runs, work } = controllableWork();
    const reason = new Error("too late");
    await expect(cache.run("k", false, work, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(runs).toHaveLength(0);
  });

  it("lets a forced run replace a shared one without cancelling its callers", async () => {
    const cache = new StepCache<number>("test");
    const { runs, work, finishRun } = controllableWork();
    const first = cache.run("k", false, work);
    const forced = cache.run("k", true, work);
    expect(runs).toHaveLength(2);
    finishRun(1, 2);
    finishRun(0, 1);
    await expect(first).resolves.toBe(1);
    await expect(forced).resolves.toBe(2);
    await expect(cache.run("k", false, work)).resolves.toBe(2);
  });
});
