// Port of Prefect's tests/docker/test_image_builds.py, against the real engine.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BuildError,
  buildImage,
  DockerfileNotFoundError,
  generateDefaultDockerfile,
  ImageBuilder,
  InvalidArgumentError,
  resolvePrefectImageName,
} from "../../../src/index.js";
import {
  captureOutput,
  contexts,
  copyOfContext,
  docker,
  IMAGE_ID_PATTERN,
  ON_PODMAN,
  runFailed,
  runImage,
  StringStream,
  uniqueTag,
} from "../support.js";

describe("buildImage", () => {
  it("builds the tiny hello image", async () => {
    const imageId = await buildImage(path.join(contexts, "tiny"));
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect((await docker.getImage(imageId).inspect()).Id).toBe(imageId);
    expect(await runImage(imageId)).toBe("Can't bear oceans.\n");
  });

  it("tags the image it builds", async () => {
    const tag = uniqueTag();
    const imageId = await buildImage(path.join(contexts, "tiny"), { tag });
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect((await docker.getImage(imageId).inspect()).RepoTags).toContain(tag);
  });

  it("labels every image with IMAGE_LABELS", async () => {
    const imageId = await buildImage(path.join(contexts, "tiny"));
    const labels = (await docker.getImage(imageId).inspect()).Config.Labels ?? {};
    expect(labels["io.prefect.version"]).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("builds alternate Dockerfiles", async () => {
    const imageA = await buildImage(path.join(contexts, "alternate"), {
      dockerfile: "Dockerfile.a",
    });
    expect(imageA).toMatch(IMAGE_ID_PATTERN);
    expect(await runImage(imageA)).toBe("from Dockerfile.a!\n");

    const imageB = await buildImage(path.join(contexts, "alternate"), {
      dockerfile: "Dockerfile.b",
    });
    expect(imageB).toMatch(IMAGE_ID_PATTERN);
    expect(imageA).not.toBe(imageB);
    expect(await runImage(imageB)).toBe("from Dockerfile.b!\n");
  });

  it("streams progress nowhere by default", async () => {
    const { result, out, err } = await captureOutput(() => buildImage(path.join(contexts, "tiny")));
    expect(result).toMatch(IMAGE_ID_PATTERN);
    expect(out).toBe("");
    expect(err).toBe("");
  });

  it("streams progress to stdout", async () => {
    const {
      result: imageId,
      out,
      err,
    } = await captureOutput(() =>
      buildImage(path.join(contexts, "tiny"), { streamProgressTo: process.stdout }),
    );
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect(err).toBe("");
    expect(out).toContain("COPY hello.txt");
    expect(out).toContain(
      `Successfully built ${imageId.slice("sha256:".length, "sha256:".length + 12)}`,
    );
  });

  it("streams progress to a given stream", async () => {
    const stream = new StringStream();
    const imageId = await buildImage(path.join(contexts, "tiny"), { streamProgressTo: stream });
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    const output = stream.getValue();
    expect(output).toContain("COPY hello.txt");
    expect(output).toContain(`Successfully built ${imageId.slice(7, 19)}`);
  });

  it("requires a context path", async () => {
    await expect(buildImage(undefined as unknown as string)).rejects.toThrow(/context required/);
    await expect(buildImage("")).rejects.toThrow(InvalidArgumentError);
  });

  it("requires an existing context path", async () => {
    await expect(buildImage(path.join(contexts, "missing"))).rejects.toThrow(/does not exist/);
  });

  it("requires a real Dockerfile, and says so before sending the context", async () => {
    // Found missing on the client, naming the full path, instead of by the engine after the
    // whole context was uploaded ("Cannot locate specified Dockerfile").
    const missing = path.join(contexts, "tiny", "Nowhere");
    await expect(
      buildImage(path.join(contexts, "tiny"), { dockerfile: "Nowhere" }),
    ).rejects.toThrow(DockerfileNotFoundError);
    await expect(
      buildImage(path.join(contexts, "tiny"), { dockerfile: "Nowhere" }),
    ).rejects.toThrow(`cannot find the Dockerfile ${missing}`);
  });

  it.each([
    ["bad-base", /manifest unknown|not found/],
    ["broken", runFailed()],
    // Podman: `building at STEP "COPY nowhere nohow": ... no such file or directory`.
    [
      "missing-file",
      ON_PODMAN ? /^building at STEP "COPY .*no such file or directory$/ : /COPY failed/,
    ],
  ])("rejects with BuildError for the %s context", async (name, expected) => {
    const stream = new StringStream();
    const error = await buildImage(path.join(contexts, name), { streamProgressTo: stream }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).message).toMatch(expected);
    expect((error as BuildError).code).toBe("ERR_DOCKER_BUILD");
  });

  it("reports the failing step and the output before it", async () => {
    const error = (await buildImage(path.join(contexts, "broken")).catch(
      (e: unknown) => e,
    )) as BuildError;
    expect(error).toBeInstanceOf(BuildError);
    // The engine counts the LABEL steps it appends for IMAGE_LABELS in the total.
    expect(error.step).toMatch(/^Step 4\/\d+ : RUN false$/);
    expect(error.logTail.join("\n")).toContain("This is going poorly");
  });
});

describe("ImageBuilder", () => {
  it("must be opened before copying", () => {
    const builder = new ImageBuilder("busybox");
    expect(() => builder.copy(path.join(contexts, "tiny", "hello.txt"), "hello.txt")).toThrow(
      /No context available/,
    );
  });

  it("allocates a temporary context and removes it on close", async () => {
    const image = new ImageBuilder("busybox");
    let context: string | null;
    {
      await using opened = await image.open();
      context = opened.context;
      expect(context).toBeTruthy();
      expect(existsSync(context as string)).toBe(true);
    }
    expect(image.context).toBeNull();
    expect(existsSync(context as string)).toBe(false);
    await image.close(); // idempotent
  });

  it("accepts an alternative base image", async () => {
    await using image = await new ImageBuilder("busybox").open();
    expect(image.dockerfileLines).toEqual(["FROM busybox"]);
  });

  it("builds from the base image", async () => {
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox").open();
      image.addLine("RUN echo Woooo, building");
      image.addLine('ENTRYPOINT [ "echo", "built by ImageBuilder" ]');
      imageId = await image.build();
    }
    expect((await runImage(imageId)).trim()).toBe("built by ImageBuilder");
  });

  it.each([
    ["a file", (c: string) => path.join(c, "tiny", "hello.txt"), "hello.txt", "hello.txt"],
    [
      "a file given with .. segments",
      (c: string) => path.join(c, "tiny", "..", "tiny", "hello.txt"),
      "hello.txt",
      "hello.txt",
    ],
    [
      "a file to an absolute location",
      (c: string) => path.join(c, "tiny", "hello.txt"),
      "/hello.txt",
      "/hello.txt",
    ],
    ["a folder", (c: string) => path.join(c, "tiny"), "tiny", "tiny/hello.txt"],
    [
      "a folder to an absolute location",
      (c: string) => path.join(c, "tiny"),
      "/tiny",
      "/tiny/hello.txt",
    ],
  ])("copies %s into the image", async (_, source, destination, catPath) => {
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox").open();
      image.addLine("WORKDIR /tiny/");
      image.copy(source(contexts), destination);
      image.addLine(`ENTRYPOINT [ "/bin/cat", "${catPath}" ]`);
      imageId = await image.build();
    }
    expect((await runImage(imageId)).trim()).toBe("Can't bear oceans.");
  });

  it("writes resolved copied paths relative to the base directory", async () => {
    await using image = await new ImageBuilder("busybox").open();
    image.copy(path.join(contexts, "tiny", "..", "tiny", "hello.txt"), "hello.txt");
    image.assertHasLine("COPY test/fixtures/contexts/tiny/hello.txt hello.txt");
  });

  it("copies a file from an alternative base directory", async () => {
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox", {
        baseDirectory: path.join(contexts, "tiny"),
      }).open();
      image.addLine("WORKDIR /tiny/");
      image.copy("hello.txt", "hello.txt");
      image.addLine('ENTRYPOINT [ "/bin/cat", "hello.txt" ]');
      imageId = await image.build();
    }
    expect((await runImage(imageId)).trim()).toBe("Can't bear oceans.");
  });

  it("copies the whole base directory with copy('.')", async () => {
    const project = await copyOfContext("tree-as-context");
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox", { baseDirectory: project }).open();
      image.copy(".", "/app");
      image.assertHasFile(".", "/app");
      image.addLine('ENTRYPOINT [ "/bin/cat", "/app/hello.txt" ]');
      imageId = await image.build();
    }
    expect((await runImage(imageId)).trim()).toBe("Can't bear oceans.");
  });

  it("writes text into the image", async () => {
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox").open();
      image.writeText("Written by writeText.\n", "/greeting.txt");
      image.addLine('ENTRYPOINT [ "/bin/cat", "/greeting.txt" ]');
      imageId = await image.build();
    }
    expect(await runImage(imageId)).toBe("Written by writeText.\n");
  });

  it("can use a working tree as the context and leaves it as it was", async () => {
    const tree = await copyOfContext("tree-as-context");
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox", { context: tree }).open();
      image.addLine("WORKDIR /tiny/");
      image.copy("hello.txt", "hello.txt");
      image.writeText("text", "/text.txt");
      image.addLine('ENTRYPOINT [ "/bin/cat", "hello.txt", "/text.txt" ]');
      imageId = await image.build();
      expect(image.context).toBe(tree);
    }
    expect(await runImage(imageId)).toBe("Can't bear oceans.\ntext");
    const { readdir } = await import("node:fs/promises");
    expect(await readdir(tree)).toEqual(["hello.txt"]);
  });

  it("cannot already have a Dockerfile in the context", () => {
    expect(() => new ImageBuilder("busybox", { context: path.join(contexts, "tiny") })).toThrow(
      /already a Dockerfile/,
    );
  });

  it("removes its Dockerfile and temporary context when the build fails", async () => {
    const image = await new ImageBuilder("busybox").open();
    const context = image.context as string;
    image.addLine("RUN false");
    await expect(image.build()).rejects.toThrow(runFailed());
    expect(existsSync(path.join(context, "Dockerfile"))).toBe(false);
    await image.close();
    expect(existsSync(context)).toBe(false);
  });

  it("refuses copy sources outside the base directory", async () => {
    await using image = await new ImageBuilder("busybox", {
      baseDirectory: path.join(contexts, "tiny"),
    }).open();
    expect(() => image.copy("../alternate/Dockerfile.a", "x")).toThrow(/not in the subpath/);
    expect(() => image.copy(path.join(contexts, "alternate"), "x")).toThrow(/not in the subpath/);
    expect(image.dockerfileLines).toEqual(["FROM busybox"]);
  });
});

describe("generateDefaultDockerfile", () => {
  it("writes Prefect's Dockerfile without requirements and removes it on dispose", async () => {
    const context = await copyOfContext("no-dockerfile");
    let dockerfile: string;
    {
      await using generated = await generateDefaultDockerfile(context);
      dockerfile = generated.path;
      expect(existsSync(dockerfile)).toBe(true);
      expect(await readFile(dockerfile, "utf8")).toBe(
        `FROM ${await resolvePrefectImageName()}\nCOPY . /opt/prefect/no-dockerfile/\nWORKDIR /opt/prefect/no-dockerfile/\n`,
      );
    }
    expect(existsSync(dockerfile)).toBe(false);
  });

  it("writes Prefect's Dockerfile with requirements", async () => {
    const context = await copyOfContext("requirements");
    await using generated = await generateDefaultDockerfile(context);
    expect(await readFile(generated.path, "utf8")).toBe(
      [
        `FROM ${await resolvePrefectImageName()}`,
        "COPY requirements.txt /opt/prefect/requirements/requirements.txt",
        "RUN uv pip install -r /opt/prefect/requirements/requirements.txt",
        "COPY . /opt/prefect/requirements/",
        "WORKDIR /opt/prefect/requirements/",
        "",
      ].join("\n"),
    );
  });

  it("refuses to overwrite an existing Dockerfile", async () => {
    const context = await copyOfContext("tiny");
    const before = await readFile(path.join(context, "Dockerfile"), "utf8");
    await expect(generateDefaultDockerfile(context)).rejects.toThrow(/Dockerfile already exists/);
    expect(await readFile(path.join(context, "Dockerfile"), "utf8")).toBe(before);
  });
});

describe("ImageBuilder disposal", () => {
  it("lets a running build finish before removing its context", async () => {
    // `await using` disposes when the function returns, before the returned build settles.
    const build = async () => {
      await using image = await new ImageBuilder("busybox").open();
      image.writeText("still here\n", "/here.txt");
      image.addLine('ENTRYPOINT [ "/bin/cat", "/here.txt" ]');
      return image.build();
    };
    expect(await runImage(await build())).toBe("still here\n");
  });
});
