// What a failed build says, on both builders of the real engine: a missing Dockerfile is a
// BuildError (as Prefect's code catches it), found before anything is sent; a base image that
// cannot be pulled names the image. The engine here reaches no outside registry, so every pull
// of a Docker Hub name fails.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BuildError,
  buildImage,
  DockerfileNotFoundError,
  type ProgressEvent,
} from "../../../src/index.js";
import { tempDir } from "../../support/files.js";

const builders = [
  ["classic", { builder: "classic" }],
  ["buildkit", { builder: "buildkit", networkMode: "none" }],
] as const;

describe.each(builders)("a build on the %s builder", (_name, builder) => {
  it("rejects a missing Dockerfile with a BuildError naming it, before sending anything", async () => {
    const context = await tempDir();
    await writeFile(path.join(context, "app.py"), "print('hi')\n");
    const events: ProgressEvent[] = [];
    const error = await buildImage(context, {
      ...builder,
      dockerfile: "Nowhere.Dockerfile",
      retries: 0,
      onProgress: (event) => events.push(event),
    }).catch((e: unknown) => e);
    // Prefect's callers catch BuildError here (docker-py raised it for "Cannot locate specified
    // Dockerfile").
    expect(error).toBeInstanceOf(BuildError);
    expect(error).toBeInstanceOf(DockerfileNotFoundError);
    expect((error as DockerfileNotFoundError).code).toBe("ERR_DOCKER_DOCKERFILE_NOT_FOUND");
    expect((error as DockerfileNotFoundError).path).toBe(path.join(context, "Nowhere.Dockerfile"));
    expect((error as Error).message).toContain(
      `cannot find the Dockerfile ${path.join(context, "Nowhere.Dockerfile")}`,
    );
    // Found on the client: no context was sent and no step ran.
    expect(events.filter((event) => event.type !== "retry")).toEqual([]);
  });

  it("names the base image it cannot pull, keeping the engine's text", async () => {
    const context = await tempDir();
    await writeFile(path.join(context, "Dockerfile"), "FROM busyboxx\nRUN true\n");
    const error = await buildImage(context, { ...builder, retries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^cannot pull the base image (docker\.io\/library\/)?busyboxx:latest: /,
    );
    // The engine's own words follow (no registry is reachable from this engine).
    expect(message).toMatch(/registry-1\.docker\.io|no such host|dial tcp|lookup/);
  });

  it("names a base image given with a platform flag and a stage name", async () => {
    const context = await tempDir();
    await writeFile(
      path.join(context, "Dockerfile"),
      "FROM --platform=linux/amd64 127.0.0.1:5555/pdu-missing/base:nope AS build\nRUN true\n",
    );
    const error = await buildImage(context, { ...builder, retries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).toMatch(
      /^cannot pull the base image 127\.0\.0\.1:5555\/pdu-missing\/base:nope: .*(manifest unknown|not found)/,
    );
  });
});
