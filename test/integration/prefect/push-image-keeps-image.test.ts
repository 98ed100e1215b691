// pushImage never deletes the image the user built: its registry tag is removed afterwards only
// when the image keeps another name, also after a failed push, and no parent layer is left
// dangling. Real engine (classic builds, which have parent layers), real registry.
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { buildImage, PushError, pushImage } from "../../../src/index.js";
import { tempDir } from "../../support/files.js";
import { docker, REGISTRY_URL, removeOwnImage, testRepository, uniqueTag } from "../support.js";

/** A new image (with parent layers) of this test's own; `tag` names it, else it has no name. */
async function builtImage(tag?: string): Promise<string> {
  const context = await tempDir();
  await writeFile(
    path.join(context, "Dockerfile"),
    `FROM busybox:latest\nRUN echo ${randomUUID()} > /id\nENV A=1\n`,
  );
  const imageId = await buildImage(context, tag === undefined ? {} : { tag });
  onTestFinished(() => removeOwnImage(imageId));
  return imageId;
}

/** The IDs of the engine's dangling images (untagged, no child). */
async function danglingIds(): Promise<Set<string>> {
  const images = await docker.listImages({ filters: JSON.stringify({ dangling: ["true"] }) });
  return new Set(images.map((image) => image.Id));
}

describe("pushImage", () => {
  it("keeps an image whose only name is the registry tag, under that tag", async () => {
    const imageId = await builtImage();
    const { Parent: parent } = await docker.getImage(imageId).inspect();
    const reference = await pushImage(imageId, REGISTRY_URL, testRepository("keep"), { tag: "v1" });
    onTestFinished(() => removeOwnImage(reference));
    const image = await docker.getImage(imageId).inspect();
    expect(image.Id).toBe(imageId);
    expect(image.RepoTags).toEqual([reference]);
    // Its parent still has a child: nothing was left dangling.
    expect(parent).not.toBe("");
    expect((await danglingIds()).has(parent)).toBe(false);
  });

  it("keeps it after a failed push too", async () => {
    const imageId = await builtImage();
    // Nothing listens on loopback port 1: the push fails with connection refused.
    const repository = testRepository("keep-failed");
    const error = await pushImage(imageId, "http://127.0.0.1:1", repository, {
      tag: "v1",
      retries: 0,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    const reference = `127.0.0.1:1/${repository}:v1`;
    onTestFinished(() => removeOwnImage(reference));
    const image = await docker.getImage(imageId).inspect();
    expect(image.Id).toBe(imageId);
    expect(image.RepoTags).toEqual([reference]);
  });

  it("removes the registry tag when the image keeps a name of its own", async () => {
    const own = uniqueTag();
    const imageId = await builtImage(own);
    const reference = await pushImage(imageId, REGISTRY_URL, testRepository("own-name"), {
      tag: "v1",
    });
    const image = await docker.getImage(imageId).inspect();
    expect(image.RepoTags).toEqual([own]);
    await expect(docker.getImage(reference).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("keeps the image when several pushes of it end at once", async () => {
    const imageId = await builtImage();
    const repository = testRepository("keep-concurrent");
    // Each push sees the others' registry tags as the image's other names; removed together,
    // they would delete the image.
    const references = await Promise.all(
      ["a", "b", "c", "d"].map((tag) => pushImage(imageId, REGISTRY_URL, repository, { tag })),
    );
    for (const reference of references) onTestFinished(() => removeOwnImage(reference));
    const image = await docker.getImage(imageId).inspect();
    expect(image.Id).toBe(imageId);
    expect(image.RepoTags?.length).toBeGreaterThanOrEqual(1);
  });

  it("never removes a registry tag the image had before the push", async () => {
    const own = uniqueTag();
    const imageId = await builtImage(own);
    const repository = testRepository("had-it");
    const reference = `127.0.0.1:5555/${repository}:v1`;
    await docker.getImage(imageId).tag({ repo: `127.0.0.1:5555/${repository}`, tag: "v1" });
    onTestFinished(() => removeOwnImage(reference));
    await pushImage(imageId, REGISTRY_URL, repository, { tag: "v1" });
    expect((await docker.getImage(imageId).inspect()).RepoTags?.sort()).toEqual(
      [own, reference].sort(),
    );
  });
});
