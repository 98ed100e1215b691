// What the deploy steps' cache keys on besides the inputs: the engine the step talks to; and the
// keys of a prefect.yaml step mapping that belong to Prefect's step runner (`id`, `requires`).
import { describe, expect, it } from "vitest";
import { runCachedStep } from "../../src/deploy/cached-step.js";
import { StepCache } from "../../src/deploy/step-cache.js";
import { dockerClient } from "../../src/dockerode.js";

type Inputs = {
  readonly image_name: string;
  readonly ignore_cache?: boolean;
  readonly [key: string]: unknown;
};

function counted() {
  const cache = new StepCache<{ additional_tags: string[]; seen: Record<string, unknown> }>("t");
  const calls: Record<string, unknown>[] = [];
  const step = (inputs: Inputs, options: Parameters<typeof runCachedStep>[2] = {}) =>
    runCachedStep(
      cache,
      inputs,
      { streamProgressTo: null, ...options },
      () => ({}),
      async (rest) => {
        calls.push({ ...rest });
        return { additional_tags: [], seen: { ...rest } };
      },
    );
  return { calls, step };
}

describe("runCachedStep", () => {
  it("runs again for another engine (DOCKER_HOST, a Docker context, a client)", async () => {
    const { calls, step } = counted();
    const inputs = { image_name: "repo" };
    await step(inputs, { env: { DOCKER_HOST: "unix:///tmp/pdu-engine-a.sock" } });
    await step(inputs, { env: { DOCKER_HOST: "unix:///tmp/pdu-engine-a.sock" } });
    expect(calls).toHaveLength(1);
    await step(inputs, { env: { DOCKER_HOST: "unix:///tmp/pdu-engine-b.sock" } });
    expect(calls).toHaveLength(2);
    await step(inputs, {
      docker: dockerClient({ env: { DOCKER_HOST: "tcp://127.0.0.1:2375" } }),
      env: { DOCKER_HOST: "unix:///tmp/pdu-engine-a.sock" },
    });
    expect(calls).toHaveLength(3);
    // The same engine, however it was named, is the same engine.
    await step(inputs, { env: { DOCKER_HOST: "/tmp/pdu-engine-b.sock" } });
    expect(calls).toHaveLength(3);
  });

  it("takes a prefect.yaml step mapping as written: id and requires are the step runner's", async () => {
    const { calls, step } = counted();
    const first = await step({
      id: "build-image",
      requires: "prefect-docker>=0.3.1",
      image_name: "repo",
    });
    expect(first.seen).toEqual({ image_name: "repo" });
    // Prefect strips them before the step runs, so they are not part of what is cached.
    await step({ id: "another-id", requires: ["prefect-docker"], image_name: "repo" });
    expect(calls).toEqual([{ image_name: "repo" }]);
  });
});
