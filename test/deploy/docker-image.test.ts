/**
 * DockerImage's constructor rules, without an engine (builds and pushes are in
 * test/integration/deploy/deploy-docker-image.test.ts).
 *
 * Ported from PrefectHQ/prefect `tests/docker/test_docker_image.py`:
 * - TestDockerImageStreamProgressTo: test_stream_progress_to_defaults_to_stdout,
 *   test_stream_progress_to_can_be_set_to_none, test_stream_progress_to_is_stored (here); the
 *   build/push ones run against the engine in the integration file.
 * - TestDockerImageBuildBackend: test_default_build_backend_is_docker_py,
 *   test_buildx_backend_is_stored, test_invalid_build_backend_raises_value_error (here); the rest
 *   in the integration file.
 * From `tests/runner/test_runner.py`: test_deployment_image_tag_handling and
 * TestDockerImage.test_adds_default_registry_url, test_override_default_registry_url,
 * test_no_default_registry_url_by_default (here, with the setting read from `env`).
 * Not ported: the `deploy()` tests of test_runner.py (work pools, the Prefect API, console
 * messages) are about Prefect's deployment runner, which this library does not have; their image
 * part (build with tag, context = cwd, pull = true; push of name and tag) is in the integration
 * file.
 */
import { describe, expect, it } from "vitest";
import { DockerImage, InvalidArgumentError } from "../../src/index.js";
import { StringStream } from "../support/string-stream.js";

const noEnv = {};
/** 2022-08-31T18:01:32Z, as Prefect's step tests fake it. */
const fixedNow = () => 1_661_968_892_000_000n;

describe("DockerImage's progress stream (TestDockerImageStreamProgressTo)", () => {
  it("defaults to process.stdout", () => {
    const image = new DockerImage("test-image", { tag: "latest", env: noEnv });
    expect(image.streamProgressTo).toBe(process.stdout);
  });

  it("can be set to null", () => {
    const image = new DockerImage("test-image", {
      tag: "latest",
      streamProgressTo: null,
      env: noEnv,
    });
    expect(image.streamProgressTo).toBeNull();
  });

  it("is stored", () => {
    const stream = new StringStream();
    const image = new DockerImage("test-image", {
      tag: "latest",
      streamProgressTo: stream,
      env: noEnv,
    });
    expect(image.streamProgressTo).toBe(stream);
  });

  it("rejects something that is not a stream", () => {
    expect(
      () =>
        new DockerImage("test-image", {
          streamProgressTo: "stdout" as never,
        }),
    ).toThrow(/streamProgressTo must be a writable stream/);
  });
});

describe("DockerImage's builder (TestDockerImageBuildBackend)", () => {
  it("defaults to the classic builder (Prefect's docker-py)", () => {
    expect(new DockerImage("test-image", { tag: "latest", env: noEnv }).builder).toBe("classic");
  });

  it("defaults to BuildKit when DOCKER_BUILDKIT is true, as buildImage does", () => {
    for (const value of ["1", "true", "TRUE", "t"]) {
      const image = new DockerImage("test-image", { env: { DOCKER_BUILDKIT: value } });
      expect(image.builder).toBe("buildkit");
    }
    expect(new DockerImage("test-image", { env: { DOCKER_BUILDKIT: "0" } }).builder).toBe(
      "classic",
    );
  });

  it.each([
    ["buildx", "buildkit"],
    ["docker-py", "classic"],
    ["buildkit", "buildkit"],
    ["classic", "classic"],
  ] as const)("stores %s as %s", (given, stored) => {
    expect(new DockerImage("test-image", { tag: "latest", builder: given }).builder).toBe(stored);
  });

  it("rejects an invalid build backend with Prefect's message", () => {
    const make = () =>
      new DockerImage("test-image", { tag: "latest", builder: "invalid" as never });
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(
      "Invalid build_backend 'invalid'. Must be 'docker-py' or 'buildx'. (This library also accepts 'classic' and 'buildkit'.)",
    );
  });

  it("refuses push: true without BuildKit, as Prefect's docker-py backend cannot push while building", () => {
    expect(() => new DockerImage("test-image", { push: true, builder: "classic" })).toThrow(
      /push: true pushes during a BuildKit build/,
    );
    expect(new DockerImage("test-image", { push: true, builder: "buildx" }).pushedDuringBuild).toBe(
      false,
    );
  });
});

describe("DockerImage's name and tag (test_deployment_image_tag_handling)", () => {
  it("defaults the tag to the slug of the current UTC time", () => {
    const image = new DockerImage("test-registry/test-image", { env: noEnv });
    expect(image.name).toBe("test-registry/test-image");
    expect(image.tag.startsWith(String(new Date().getUTCFullYear()))).toBe(true);
    const fixed = new DockerImage("test-registry/test-image", { env: noEnv, now: fixedNow });
    expect(fixed.tag).toBe("2022-08-31t18-01-32-00-00");
  });

  it("takes the tag from the name", () => {
    const image = new DockerImage("test-registry/test-image:test-tag", { env: noEnv });
    expect(image.name).toBe("test-registry/test-image");
    expect(image.tag).toBe("test-tag");
    expect(image.reference).toBe("test-registry/test-image:test-tag");
  });

  it("takes the tag option", () => {
    const image = new DockerImage("test-registry/test-image", { tag: "test-tag", env: noEnv });
    expect(image.name).toBe("test-registry/test-image");
    expect(image.tag).toBe("test-tag");
    expect(image.reference).toBe("test-registry/test-image:test-tag");
  });

  it("refuses a tag given twice with Prefect's message", () => {
    const make = () => new DockerImage("test-registry/test-image:test-tag", { tag: "bad-tag" });
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(
      "Only one tag can be provided - both 'test-tag' and 'bad-tag' were provided as tags.",
    );
  });

  it("keeps a registry port apart from the tag", () => {
    const image = new DockerImage("localhost:5000/team/app", { tag: "v1", env: noEnv });
    expect(image.reference).toBe("localhost:5000/team/app:v1");
  });

  it("refuses a digest instead of making the invalid reference repo:sha256:...", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const make = () => new DockerImage(`registry.example.com/app@${digest}`, { env: noEnv });
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(/has a digest \(sha256:a+\)/);
    expect(make).toThrow(/pass "registry\.example\.com\/app"/);
  });

  it("refuses a name that is not an image reference before any build", () => {
    expect(() => new DockerImage("Team/App", { tag: "v1", env: noEnv })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new DockerImage("team/app", { tag: "bad tag", env: noEnv })).toThrow(
      /not a valid image reference/,
    );
    expect(() => new DockerImage("", {})).toThrow(/name must be an image name/);
  });
});

describe("DockerImage's default namespace (TestDockerImage in test_runner.py)", () => {
  it("adds the default namespace to a name without one", () => {
    const env = { PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE: "alltheimages.com/my-org" };
    expect(new DockerImage("test-image", { env }).name).toBe("alltheimages.com/my-org/test-image");
  });

  it("keeps a namespace given in the name", () => {
    const env = { PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE: "alltheimages.com/my-org" };
    expect(new DockerImage("otherimages.com/my-org/test-image", { env }).name).toBe(
      "otherimages.com/my-org/test-image",
    );
  });

  it("adds no namespace by default", () => {
    expect(new DockerImage("my-org/test-image", { env: noEnv }).name).toBe("my-org/test-image");
    expect(new DockerImage("test-image", { env: noEnv }).name).toBe("test-image");
  });

  it("prefers PREFECT_DEPLOYMENTS_DEFAULT_DOCKER_BUILD_NAMESPACE, as Prefect's settings do", () => {
    const env = {
      PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE: "legacy.example.com",
      PREFECT_DEPLOYMENTS_DEFAULT_DOCKER_BUILD_NAMESPACE: "current.example.com",
    };
    expect(new DockerImage("test-image", { env }).name).toBe("current.example.com/test-image");
    expect(
      new DockerImage("test-image", {
        env: { PREFECT_DEPLOYMENTS_DEFAULT_DOCKER_BUILD_NAMESPACE: "current.example.com" },
      }).name,
    ).toBe("current.example.com/test-image");
  });

  it("reads the namespace from process.env by default", () => {
    const saved = process.env.PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE;
    process.env.PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE = "from-process.example.com";
    try {
      expect(new DockerImage("test-image").name).toBe("from-process.example.com/test-image");
    } finally {
      if (saved === undefined) delete process.env.PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE;
      else process.env.PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE = saved;
    }
  });

  it("checks buildImage's options when constructed", () => {
    expect(
      () => new DockerImage("test-image", { env: noEnv, labels: { team: 1 as never } }),
    ).toThrow(/labels\["team"\] must be a string/);
    expect(() => new DockerImage("test-image", { env: noEnv, retries: -1 })).toThrow(
      InvalidArgumentError,
    );
    expect(
      () => new DockerImage("test-image", { env: noEnv, secrets: { id: { value: "x" } } }),
    ).toThrow(/needs builder: "buildkit"/);
  });

  it("keeps the other options for buildImage", () => {
    const image = new DockerImage("test-image", {
      env: noEnv,
      buildArgs: { A: "1" },
      labels: { team: "data" },
      dockerfile: "Dockerfile.dev",
    });
    expect(image.dockerfile).toBe("Dockerfile.dev");
    expect(image.buildOptions).toMatchObject({ buildArgs: { A: "1" }, labels: { team: "data" } });
    expect(new DockerImage("test-image", { env: noEnv }).dockerfile).toBe("auto");
  });
});

describe("DockerImage with several platforms", () => {
  it("takes platforms, or buildx's comma-separated platform, with push and BuildKit", () => {
    const listed = new DockerImage("r.example.com/app:1", {
      builder: "buildkit",
      push: true,
      platforms: ["linux/amd64", "linux/aarch64"],
    });
    expect(listed.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    const joined = new DockerImage("r.example.com/app:1", {
      builder: "buildx",
      push: true,
      platform: "linux/amd64,linux/arm64",
    });
    expect(joined.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(joined.buildOptions.platform).toBeUndefined();
    expect(new DockerImage("r.example.com/app:1", { platform: "linux/arm64" }).platforms).toBe(
      undefined,
    );
  });

  it("requires push for several platforms, with Prefect's message", () => {
    expect(
      () =>
        new DockerImage("r.example.com/app:1", {
          builder: "buildkit",
          platforms: ["linux/amd64", "linux/arm64"],
        }),
    ).toThrow("Multi-platform builds require push=True");
  });

  it("refuses platform and platforms together, and a bad platform by name", () => {
    expect(
      () =>
        new DockerImage("r.example.com/app:1", {
          builder: "buildkit",
          push: true,
          platform: "linux/amd64",
          platforms: ["linux/arm64", "linux/amd64"],
        }),
    ).toThrow(InvalidArgumentError);
    expect(
      () =>
        new DockerImage("r.example.com/app:1", {
          builder: "buildkit",
          push: true,
          platforms: ["linux/amd64", "arm64"],
        }),
    ).toThrow("platforms[1]");
  });
});
