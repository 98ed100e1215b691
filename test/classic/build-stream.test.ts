// The build stream reader on what Podman's Docker-compatible API sends: Buildah's `STEP N/M:`
// lines and error texts that end with a newline.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { BuildStream } from "../../src/classic/build-stream.js";
import { BuildError } from "../../src/errors.js";
import { readJsonLines } from "../../src/streams/json-lines.js";
import type { ProgressEvent } from "../../src/streams/progress.js";

/** Recorded with curl from Debian's Podman 4.3 (`podman system service`). */
const recorded = (name: string) =>
  readFileSync(path.resolve(import.meta.dirname, "../fixtures/engine-streams", `${name}.jsonl`));

async function replay(name: string, reader: BuildStream): Promise<void> {
  await readJsonLines(Readable.from([recorded(name)]), (line) => reader.handle(line));
}

describe("BuildStream on Podman's builds", () => {
  it("reports Podman's STEP lines as step events and finds the image ID", async () => {
    const events: ProgressEvent[] = [];
    const reader = new BuildStream({ onProgress: (e) => events.push(e) });
    await replay("podman-build-succeeds", reader);
    expect(reader.imageId).toBe(
      "sha256:cc46e94698435921b87edb18dd7ecf827e77f7665df60ceff6c009f4396dbf80",
    );
    expect(events.filter((e) => e.type === "step")).toEqual([
      { type: "step", step: 1, totalSteps: 4, instruction: "FROM busybox" },
      { type: "step", step: 2, totalSteps: 4, instruction: "WORKDIR /tiny/" },
      { type: "step", step: 3, totalSteps: 4, instruction: "COPY hello.txt hello.txt" },
      {
        type: "step",
        step: 4,
        totalSteps: 4,
        instruction: 'ENTRYPOINT [ "/bin/cat", "hello.txt" ]',
      },
    ]);
  });

  it("rejects a failed RUN with Podman's text, without its trailing newline, and the step", async () => {
    const reader = new BuildStream();
    const error = await replay("podman-build-run-fails", reader).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error).toMatchObject({
      message: 'building at STEP "RUN false": while running runtime: exit status 1',
      step: "Step 4/4 : RUN false",
    });
    expect((error as BuildError).logTail).toContain("This is going poorly");
  });
});
