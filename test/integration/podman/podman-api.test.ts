// What differs on Podman's Docker-compatible API service, and what the library does about it:
// its step lines, its texts, its image names, its registry configuration, and its lack of BuildKit.
import { randomUUID } from "node:crypto";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  BuildError,
  buildImage,
  ImageBuilder,
  type ProgressEvent,
  PushError,
  pushImage,
} from "../../../src/index.js";
import { runBin } from "../cli-run.js";
import { contexts, docker, ON_PODMAN, removeOwnImage, testRepository } from "../support.js";

describe("the engine under test", () => {
  it("is Podman", async () => {
    expect(ON_PODMAN).toBe(true);
    const version = await docker.version();
    expect(version.Components?.map((component) => component.Name)).toContain("Podman Engine");
  });
});

describe("a classic build on Podman", () => {
  it("reports Podman's STEP lines as step events, and resolves to the image", async () => {
    const events: ProgressEvent[] = [];
    const tag = `localhost/pdu-podman-steps:${randomUUID()}`;
    onTestFinished(() => removeOwnImage(tag));
    const imageId = await buildImage(path.join(contexts, "tiny"), {
      tag,
      onProgress: (event) => events.push(event),
    });
    expect((await docker.getImage(tag).inspect()).Id).toBe(imageId);
    // The Dockerfile's 4 steps, then one LABEL step per label the build adds (Docker adds one
    // LABEL step for them all): io.prefect.version and this run's two test labels.
    const steps = events.filter((event) => event.type === "step");
    expect(steps.map((step) => [step.step, step.totalSteps])).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((step) => [step, 7]),
    );
    expect(steps.map((step) => step.instruction.split(" ")[0])).toEqual([
      "FROM",
      "WORKDIR",
      "COPY",
      "ENTRYPOINT",
      "LABEL",
      "LABEL",
      "LABEL",
    ]);
  });

  it("lists an image tagged without a registry as docker.io/library/<name>", async () => {
    const name = `pdu-podman-naming:${randomUUID()}`;
    onTestFinished(() => removeOwnImage(`docker.io/library/${name}`));
    const imageId = await buildImage(path.join(contexts, "tiny"), { tag: name });
    const image = await docker.getImage(imageId.replace(/^sha256:/, "")).inspect();
    // Docker lists it as `<name>`; `podman load` and `podman build` name it `localhost/<name>`.
    expect(image.RepoTags).toEqual([`docker.io/library/${name}`]);
    // The name as given still finds it, as Docker's would.
    expect((await docker.getImage(name).inspect()).Id).toBe(imageId);
  });

  it("rejects a failed RUN with Podman's text and the step, and ImageBuilder leaves nothing", async () => {
    const before = await readdir(tmpdir());
    const image = await new ImageBuilder("busybox").open();
    image.addLine("RUN echo going && false");
    const error = await image.build().catch((e: unknown) => e);
    await image.close();
    expect(error).toBeInstanceOf(BuildError);
    expect(error).toMatchObject({
      message: 'building at STEP "RUN echo going && false": while running runtime: exit status 1',
      // Then one LABEL step per label.
      step: "Step 2/5 : RUN echo going && false",
      code: "ERR_DOCKER_BUILD",
    });
    expect((error as BuildError).logTail).toContain("going");
    expect(await readdir(tmpdir())).toEqual(before);
  });
});

describe("BuildKit on Podman", () => {
  it("is refused at once: Podman's API has no BuildKit session, use the classic builder", async () => {
    const started = Date.now();
    const error = await buildImage(path.join(contexts, "tiny"), { builder: "buildkit" }).catch(
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(BuildError);
    expect(error).toMatchObject({
      code: "ERR_DOCKER_BUILD",
      message: expect.stringMatching(
        /^The engine at unix:\/\/\/run\/pdu-podman\/podman\.sock is Podman, whose Docker-compatible API has no BuildKit session .*builder: "classic"/,
      ),
    });
  });

  it("is refused by the command line with exit code 1 and the same reason", async () => {
    const result = await runBin(["build", path.join(contexts, "tiny"), "--builder", "buildkit"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is Podman, whose Docker-compatible API has no BuildKit session/);
  });
});

describe("pushing from Podman", () => {
  it("names registries.conf, not daemon.json, when the engine speaks HTTPS to a plain-HTTP registry", async () => {
    // localhost:5555 is the open test registry, under a name registries.conf does not list.
    const error = await pushImage(
      "busybox:latest",
      "http://localhost:5555",
      testRepository("https"),
      {
        retries: 0,
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    const message = (error as PushError).message;
    expect(message).toMatch(
      /server gave HTTP response to HTTPS client \(the engine speaks HTTPS to localhost:5555 whatever registryUrl's scheme says; to push over plain HTTP, mark it insecure in \/etc\/containers\/registries\.conf/,
    );
    expect(message).toContain('[[registry]] location = "localhost:5555" insecure = true');
    expect(message).not.toContain("daemon.json");
  });
});
