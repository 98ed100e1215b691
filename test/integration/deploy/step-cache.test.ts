// The deploy steps' cache on the real engine: a result is reused only for the engine that made
// it, and callers sharing a run under way each wait with their own signal.
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { EngineUnreachableError } from "../../../src/index.js";
import { buildDockerImage, clearStepCache } from "../../../src/steps.js";
import { flowFolder, localName } from "../deploy-support.js";
import { docker } from "../support.js";

beforeEach(() => clearStepCache());

const silent = { streamProgressTo: null } as const;

/** A project whose build takes a couple of seconds in its RUN step. */
async function slowProject(): Promise<string> {
  const folder = await flowFolder();
  await writeFile(
    path.join(folder, "Dockerfile"),
    `FROM busybox:latest\nCOPY flow.py /flow.py\nRUN sleep 2 && echo ${randomUUID()}\n`,
  );
  return folder;
}

describe("the build step's cache", () => {
  it("builds again when the same inputs are given for another engine", async () => {
    const folder = await flowFolder();
    await writeFile(path.join(folder, "Dockerfile"), "FROM busybox:latest\nCOPY flow.py /f.py\n");
    const inputs = { image_name: localName(), tag: "v1", path: folder, pull: false };
    const built = await buildDockerImage(inputs, silent);
    expect((await docker.getImage(built.image).inspect()).Id).toBe(built.image_id);
    // The same inputs, but DOCKER_HOST names an engine that is not there: the step must ask it
    // (and fail), not hand back what the other engine built.
    const elsewhere = {
      ...silent,
      retries: 0,
      env: { ...process.env, DOCKER_HOST: `unix:///tmp/pdu-no-engine-${randomUUID()}.sock` },
    };
    await expect(buildDockerImage(inputs, elsewhere)).rejects.toThrow(EngineUnreachableError);
    // The first engine's result is still cached for the first engine.
    await expect(buildDockerImage(inputs, silent)).resolves.toEqual(built);
  });

  it("lets one caller abort its wait without failing another caller of the same build", async () => {
    const folder = await slowProject();
    const inputs = { image_name: localName(), tag: "v1", path: folder, pull: false };
    const first = new AbortController();
    const aborting = buildDockerImage(inputs, {
      ...silent,
      signal: first.signal,
      onProgress: (event) => {
        if (event.type === "step" && event.instruction.startsWith("RUN")) first.abort();
      },
    });
    const waiting = buildDockerImage(inputs, silent);
    const aborted = await aborting.catch((e: unknown) => e);
    expect((aborted as Error).name).toBe("AbortError");
    // The build went on for the caller still waiting.
    const built = await waiting;
    expect((await docker.getImage(built.image).inspect()).Id).toBe(built.image_id);
  });

  it("stops the shared build when every caller has aborted, and builds anew afterwards", async () => {
    const folder = await slowProject();
    const inputs = { image_name: localName(), tag: "v1", path: folder, pull: false };
    const a = new AbortController();
    const b = new AbortController();
    let runSteps = 0;
    const first = buildDockerImage(inputs, {
      ...silent,
      signal: a.signal,
      onProgress: (event) => {
        if (event.type === "step" && event.instruction.startsWith("RUN")) {
          runSteps++;
          a.abort();
          b.abort();
        }
      },
    });
    const second = buildDockerImage(inputs, { ...silent, signal: b.signal });
    const errors = await Promise.all([first, second].map((p) => p.catch((e: unknown) => e)));
    expect(errors.map((error) => (error as Error).name)).toEqual(["AbortError", "AbortError"]);
    // Nothing was built under the name: the build was cancelled, not left to finish.
    await expect(docker.getImage(`${inputs.image_name}:v1`).inspect()).rejects.toThrow();
    // And nothing of the cancelled run is reused.
    const built = await buildDockerImage(inputs, silent);
    expect((await docker.getImage(built.image).inspect()).Id).toBe(built.image_id);
    expect(runSteps).toBe(1);
  });
});
