/**
 * DockerImage and the build step with BuildKit (Prefect's `build_backend="buildx"`), on the real
 * engine's BuildKit through the Engine API. The engine has no bridge network, so RUN steps use
 * `networkMode: "none"` (`network: none` in the step).
 *
 * Ported from PrefectHQ/prefect (python-on-whales was mocked there):
 * - `tests/docker/test_docker_image.py` TestDockerImageBuildBackend:
 *   test_buildx_backend_calls_buildx_build_image, test_buildx_build_kwargs_forwarded (secrets,
 *   cache_from), test_buildx_build_with_push, test_buildx_push_is_noop_after_push_build,
 *   test_buildx_push_calls_buildx_push_image.
 * - `tests/docker/test_buildx.py` TestBuildxBuildImage: test_basic_build, test_labels_are_applied,
 *   test_custom_labels_merged_with_image_labels, test_single_platform_build,
 *   test_multi_platform_with_push (both platforms built and pushed as one image index),
 *   test_build_error_is_raised, test_push_build.
 *   test_multi_platform_requires_push, test_kwargs_passthrough, test_decode_kwarg_stripped,
 *   test_requires_context, test_requires_existing_context are in test/steps.test.ts;
 *   test_retries_on_transient_error is buildImage's own BuildKit retry, tested with it.
 * - `src/integrations/prefect-docker/tests/deployments/test_steps.py`: test_real_buildx_build,
 *   TestBuildxBackend.test_build_docker_image_dispatches_to_buildx,
 *   test_build_docker_image_buildx_forwards_kwargs, test_build_docker_image_buildx_skips_tagging
 *   (here: every tag is on the image, however it got there).
 */
import { createHash, randomUUID } from "node:crypto";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  BuildError,
  DockerImage,
  PREFECT_VERSION,
  type ProgressEvent,
} from "../../../src/index.js";
import { buildDockerImage, clearStepCache } from "../../../src/steps.js";
import { tempDir, tree } from "../../support/files.js";
import {
  autoFolders,
  countEvents,
  engineTime,
  flowFolder,
  localName,
  registryTags,
  removeStandInBaseImage,
  standInBaseImage,
  uniqueRepository,
} from "../deploy-support.js";
import { docker, runImage, StringStream } from "../support.js";

let base: string;
beforeAll(async () => {
  base = await standInBaseImage();
});
afterAll(removeStandInBaseImage);
beforeEach(() => clearStepCache());

describe("DockerImage with BuildKit", () => {
  it("builds the auto Dockerfile with BuildKit (test_buildx_backend_calls_buildx_build_image, test_basic_build)", async () => {
    const { name } = uniqueRepository("deploy-bk");
    const folder = await flowFolder("my flows", { "requirements.txt": "pandas\n" });
    const before = await autoFolders();
    const stream = new StringStream();
    const events: ProgressEvent[] = [];
    const image = new DockerImage(name, {
      tag: "latest",
      builder: "buildx",
      baseImage: base,
      context: folder,
      networkMode: "none",
      streamProgressTo: stream,
      onProgress: (event) => events.push(event),
    });
    const imageId = await image.build();
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const inspected = await docker.getImage(image.reference).inspect();
    expect(inspected.Id).toBe(imageId);
    expect(inspected.Config.WorkingDir).toBe("/opt/prefect/my flows/");
    // BuildKit's plain progress and vertex events, not the classic builder's "Step N/M".
    expect(stream.getValue()).toMatch(/^#\d+ /m);
    expect(stream.getValue()).not.toMatch(/^Step 1\//m);
    expect(events.some((event) => event.type === "vertex")).toBe(true);
    expect((await readdir(folder)).sort()).toEqual(["flow.py", "requirements.txt"]);
    expect(await autoFolders()).toEqual(before);
  });

  it("keeps user labels beside IMAGE_LABELS (test_labels_are_applied, test_custom_labels_merged_with_image_labels)", async () => {
    const { name } = uniqueRepository("deploy-bk");
    const image = new DockerImage(name, {
      builder: "buildkit",
      baseImage: base,
      context: await flowFolder(),
      streamProgressTo: null,
      labels: { "custom.label": "value", "io.prefect.version": "spoofed" },
    });
    await image.build();
    const labels = (await docker.getImage(image.reference).inspect()).Config.Labels;
    expect(labels?.["custom.label"]).toBe("value");
    expect(labels?.["io.prefect.version"]).toBe(PREFECT_VERSION);
  });

  it("forwards secrets and cacheFrom (test_buildx_build_kwargs_forwarded)", async () => {
    const { name } = uniqueRepository("deploy-bk");
    const folder = await flowFolder("project", {
      Dockerfile: `FROM ${base}\nRUN --mount=type=secret,id=mysecret md5sum < /run/secrets/mysecret > /seen\n`,
    });
    const image = new DockerImage(name, {
      builder: "buildx",
      dockerfile: "Dockerfile",
      context: folder,
      networkMode: "none",
      streamProgressTo: null,
      secrets: { mysecret: { value: "s3cr3t" } },
      cacheFrom: [base],
    });
    await image.build();
    const md5 = createHash("md5").update("s3cr3t").digest("hex");
    expect(await runImage(image.reference, ["cat", "/seen"])).toBe(`${md5}  -\n`);
    const history = await docker.getImage(image.reference).history();
    expect(JSON.stringify(history)).not.toContain("s3cr3t");
  });

  it("builds for one named platform (test_single_platform_build)", async () => {
    const { name } = uniqueRepository("deploy-bk");
    const image = new DockerImage(name, {
      builder: "buildkit",
      baseImage: base,
      context: await flowFolder(),
      platform: "linux/amd64",
      streamProgressTo: null,
    });
    await image.build();
    expect((await docker.getImage(image.reference).inspect()).Architecture).toBe("amd64");
  });

  it("rejects with BuildError when a step fails (test_build_error_is_raised)", async () => {
    const folder = await flowFolder("project", { Dockerfile: `FROM ${base}\nRUN exit 7\n` });
    const image = new DockerImage(localName(), {
      builder: "buildx",
      dockerfile: "Dockerfile",
      context: folder,
      networkMode: "none",
      streamProgressTo: null,
    });
    const error = await image.build().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).message).toMatch(/exit code: 7|code: 7/);
  });

  it("pushes during the build with push: true, and push() then does nothing (test_buildx_build_with_push, test_buildx_push_is_noop_after_push_build)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-bk");
    const image = new DockerImage(name, {
      tag: "latest",
      builder: "buildx",
      push: true,
      baseImage: base,
      context: await flowFolder(),
      streamProgressTo: null,
    });
    const since = engineTime();
    await image.build();
    expect(image.pushedDuringBuild).toBe(true);
    expect(await registryTags(repositoryPath)).toEqual(["latest"]);
    const pushed = await image.push();
    expect(pushed.digest).toMatch(/^sha256:/);
    expect(await countEvents(since, name, "push")).toBe(1);
  });

  it("pushes on push() after a BuildKit build without push (test_buildx_push_calls_buildx_push_image)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-bk");
    const stream = new StringStream();
    const image = new DockerImage(name, {
      tag: "latest",
      builder: "buildx",
      baseImage: base,
      context: await flowFolder(),
      streamProgressTo: stream,
    });
    await image.build();
    expect(image.pushedDuringBuild).toBe(false);
    expect(await registryTags(repositoryPath)).toEqual([]);
    await image.push();
    expect(await registryTags(repositoryPath)).toEqual(["latest"]);
    expect(stream.getValue()).toMatch(/^latest: digest: sha256:/m);
  });
});

describe("build_docker_image with build_backend buildx", () => {
  it("builds with BuildKit, returns the real image ID, and tags every tag (test_real_buildx_build, TestBuildxBackend)", async () => {
    const { name } = uniqueRepository("deploy-bk");
    const folder = await flowFolder("project", {
      Dockerfile: `FROM ${base}\nRUN echo hello > /hello\n`,
    });
    const tag = `test-${randomUUID()}`;
    const stream = new StringStream();
    const result = await buildDockerImage(
      {
        image_name: name,
        tag,
        additional_tags: ["tag1", "tag2"],
        dockerfile: "Dockerfile",
        path: folder,
        pull: false,
        build_backend: "buildx",
        network: "none",
      },
      { streamProgressTo: stream },
    );
    expect(result).toEqual({
      image_name: name,
      tag,
      image: `${name}:${tag}`,
      image_id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      additional_tags: ["tag1", "tag2"],
    });
    for (const each of [tag, "tag1", "tag2"]) {
      expect((await docker.getImage(`${name}:${each}`).inspect()).Id).toBe(result.image_id);
    }
    expect(stream.getValue()).toMatch(/^#\d+ .*RUN echo hello/m);
  });

  it("forwards secrets and cache_from by python-on-whales' names (test_build_docker_image_buildx_forwards_kwargs)", async () => {
    const { name } = uniqueRepository("deploy-bk");
    const secretFile = path.join(await tempDir("pdu-deploy-secret-"), "secret.txt");
    await writeFile(secretFile, "s3cr3t");
    const folder = await flowFolder("project", {
      Dockerfile: `FROM ${base}\nRUN --mount=type=secret,id=mysecret test "$(cat /run/secrets/mysecret)" = s3cr3t\n`,
    });
    const result = await buildDockerImage(
      {
        image_name: name,
        tag: "v1",
        path: folder,
        build_backend: "buildx",
        network: "none",
        secrets: [`id=mysecret,src=${secretFile}`],
        cache_from: [`type=registry,ref=${base}`],
        ignore_cache: true,
      },
      { streamProgressTo: null },
    );
    expect(result.image_id).toMatch(/^sha256:/);
  });

  it("keeps user labels and generates the auto Dockerfile for path", async () => {
    const { name } = uniqueRepository("deploy-bk");
    const cwd = await tree(await tempDir("pdu-deploy-cwd-"), { Dockerfile: "FROM scratch\n" });
    const flows = await flowFolder("bk-flows");
    const saved = process.cwd();
    process.chdir(cwd);
    let result: Awaited<ReturnType<typeof buildDockerImage>>;
    try {
      result = await buildDockerImage(
        {
          image_name: name,
          tag: "v1",
          dockerfile: "auto",
          path: flows,
          build_backend: "buildx",
          labels: { "custom.label": "value" },
        },
        { baseImage: base, streamProgressTo: null },
      );
    } finally {
      process.chdir(saved);
    }
    const inspected = await docker.getImage(result.image).inspect();
    expect(inspected.Config.WorkingDir).toBe("/opt/prefect/bk-flows/");
    expect(inspected.Config.Labels?.["custom.label"]).toBe("value");
    expect(inspected.Config.Labels?.["io.prefect.version"]).toBe(PREFECT_VERSION);
    expect(await readdir(cwd)).toEqual(["Dockerfile"]);
    expect(await readdir(flows)).toEqual(["flow.py"]);
  });

  it("pushes every tag with push: true (test_push_build)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-bk");
    await buildDockerImage(
      {
        image_name: name,
        tag: "main",
        additional_tags: ["extra"],
        dockerfile: "auto",
        path: await flowFolder(),
        build_backend: "buildx",
        push: true,
      },
      { baseImage: base, streamProgressTo: null },
    );
    expect(await registryTags(repositoryPath)).toEqual(["extra", "main"]);
  });

  it("builds both platforms and pushes one image index under the tag (test_multi_platform_with_push)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-bk");
    const result = await buildDockerImage(
      {
        image_name: name,
        tag: "multi",
        dockerfile: "auto",
        path: await flowFolder(),
        build_backend: "buildx",
        platforms: ["linux/amd64", "linux/arm64"],
        push: true,
      },
      { baseImage: base, streamProgressTo: null },
    );
    // Prefect's buildx backend returns the tag as the "image id"; here it is the index digest.
    expect(result.image).toBe(`${name}:multi`);
    expect(result.image_id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registryTags(repositoryPath)).toEqual(["multi"]);
  });
});
