// A prefect.yaml step's mapping goes into the steps as written: `id` and `requires` belong to
// Prefect's step runner, which strips them before it calls the step; here they are accepted and
// ignored. Real engine, real registry.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { buildDockerImage, clearStepCache, pushDockerImage } from "../../../src/steps.js";
import { flowFolder, registryTags, uniqueRepository } from "../deploy-support.js";
import { docker } from "../support.js";

beforeEach(() => clearStepCache());

describe("a prefect.yaml step mapping", () => {
  it("builds and pushes with id and requires in the mapping", async () => {
    const { name, path: repository } = uniqueRepository("deploy-mapping");
    const folder = await flowFolder();
    await writeFile(
      path.join(folder, "Dockerfile"),
      "FROM busybox:latest\nCOPY flow.py /flow.py\n",
    );
    // build:
    //   - prefect_docker.deployments.steps.build_docker_image:
    //       id: build-image
    //       requires: prefect-docker>=0.3.1
    //       ...
    const build = await buildDockerImage(
      {
        id: "build-image",
        requires: "prefect-docker>=0.3.1",
        image_name: name,
        tag: "v1",
        path: folder,
        pull: false,
      },
      { streamProgressTo: null },
    );
    expect(build.image).toBe(`${name}:v1`);
    expect((await docker.getImage(build.image).inspect()).Id).toBe(build.image_id);
    const pushed = await pushDockerImage(
      {
        requires: ["prefect-docker>=0.3.1"],
        id: "push-image",
        image_name: build.image_name,
        tag: build.tag,
        additional_tags: build.additional_tags,
      },
      { streamProgressTo: null },
    );
    expect(pushed).toEqual({
      image_name: name,
      tag: "v1",
      image: `${name}:v1`,
      additional_tags: [],
    });
    expect(await registryTags(repository)).toEqual(["v1"]);
  });
});
