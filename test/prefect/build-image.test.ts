// The build context check that buildImage, buildMultiPlatformImage and the build step share, before
// any I/O: the engine named here does not exist, so a call that got as far as the engine would fail
// with EngineUnreachableError instead.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildImage, buildMultiPlatformImage, InvalidArgumentError } from "../../src/index.js";
import { checkContextFolder } from "../../src/prefect/build-image.js";
import { tempDir } from "../support/files.js";

const env = { DOCKER_HOST: "unix:///nonexistent/docker.sock", HOME: "/nonexistent" };

async function aFile(): Promise<string> {
  const file = path.join(await tempDir(), "flow.py");
  await writeFile(file, "");
  return file;
}

describe("checkContextFolder", () => {
  it("resolves for a folder", async () => {
    await expect(checkContextFolder(await tempDir())).resolves.toBeUndefined();
  });

  it("names a context that does not exist", async () => {
    const missing = path.join(await tempDir(), "missing");
    const error = await checkContextFolder(missing, "pass a folder").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(`Context path ${missing} does not exist`);
  });

  it("names a context that is a file, with what to do when given", async () => {
    const file = await aFile();
    await expect(checkContextFolder(file)).rejects.toThrow(
      new InvalidArgumentError(`Context path ${file} is not a folder`),
    );
    await expect(checkContextFolder(file, "pass a folder")).rejects.toThrow(
      new InvalidArgumentError(`Context path ${file} is not a folder; pass a folder`),
    );
  });
});

describe("a file as the build context", () => {
  it("is refused by buildImage, saying to pass the folder that holds the Dockerfile", async () => {
    const file = await aFile();
    await expect(buildImage(file, { env })).rejects.toThrow(
      new InvalidArgumentError(
        `Context path ${file} is not a folder; pass the folder that holds the Dockerfile`,
      ),
    );
  });

  it("is refused by buildMultiPlatformImage", async () => {
    const file = await aFile();
    await expect(
      buildMultiPlatformImage(file, "r.example.com/a:1", { platforms: ["linux/amd64"], env }),
    ).rejects.toThrow(new InvalidArgumentError(`Context path ${file} is not a folder`));
  });
});
