/**
 * The deploy steps on the real engine and registries.
 *
 * Ported from PrefectHQ/prefect `src/integrations/prefect-docker/tests/deployments/test_steps.py`
 * (docker-py was mocked there; here the engine does the work and the engine's own event log
 * counts builds, tags and pushes):
 * - test_build_docker_image (all 10 parametrized cases), test_real_auto_dockerfile_build.
 * - test_build_docker_image_denied_message_is_enhanced (a real 401, Docker Hub's wording).
 * - test_push_docker_image_with_additional_tags, test_push_docker_image_with_credentials,
 *   test_push_docker_image_without_credentials, test_push_docker_image_raises_on_event_error
 *   (a PushError, where Prefect raises OSError).
 * - TestCachedSteps: test_cached_build_docker_image, test_uncached_build_docker_image,
 *   test_cached_push_docker_image, test_uncached_push_docker_image, test_avoids_aggressive_caching.
 * - test_build_docker_image_with_default_namespace, test_build_docker_image_namespace_precedence,
 *   test_push_docker_image_with_default_namespace, test_push_docker_image_namespace_precedence.
 * - From `tests/docker/test_buildx.py` (TestBuildxPushImage, which is the same engine push here):
 *   test_push_image, test_push_streams_progress (with build_backend buildx),
 *   test_push_image_without_tag (every local tag is pushed, as docker-py's push(tag=None)),
 *   test_push_raises_on_error (the PushError test).
 * - TestBuildxBackend: test_push_docker_image_dispatches_to_buildx,
 *   test_push_docker_image_buildx_with_additional_tags (same engine push; 3 tags in the registry).
 * The name and input checks that need no engine are in test/steps.test.ts; the buildx
 * tests (test_real_buildx_build, TestBuildxBackend) are in deploy-buildkit.test.ts.
 * Not ported: the stdout write counts (15 and 5 writes of a mocked sys.stdout) are how Prefect
 * buffers; here the same status lines are checked in order, and shown to arrive while pushing.
 */
import { randomUUID } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DENIED_MESSAGE_HINT } from "../../../src/deploy/build-docker-image.js";
import { dockerClient } from "../../../src/dockerode.js";
import {
  BuildError,
  InvalidArgumentError,
  PREFECT_VERSION,
  type ProgressEvent,
  PushError,
} from "../../../src/index.js";
import { buildDockerImage, clearStepCache, pushDockerImage } from "../../../src/steps.js";
import { tempDir, tree } from "../../support/files.js";
import {
  authRegistry,
  autoFolders,
  countEvents,
  DenyingRegistry,
  deleteFromRegistryAfterwards,
  engineEvents,
  engineTime,
  inChdir,
  localName,
  OPEN_REGISTRY,
  registryTags,
  removeImagesAfterwards,
  removeStandInBaseImage,
  standInBaseImage,
  uniqueRepository,
} from "../deploy-support.js";
import { FaultProxy } from "../fault-proxy.js";
import {
  docker,
  ENGINE_SOCKET,
  FIRST_STEP,
  runImage,
  StringStream,
  testRepository,
} from "../support.js";

let base: string;
beforeAll(async () => {
  base = await standInBaseImage();
});
afterAll(removeStandInBaseImage);
// Prefect's autouse fixture resets STEP_OUTPUT_CACHE before every test.
beforeEach(() => clearStepCache());

/** 2022-08-31T18:01:32Z: Prefect's FAKE_DEFAULT_TAG is its slug. */
const FAKE_NOW = () => 1_661_968_892_000_000n;
const FAKE_DEFAULT_TAG = "2022-08-31t18-01-32-00-00";
const silent = { streamProgressTo: null } as const;

/** The local image's ID for a reference, or undefined. */
async function localImageId(reference: string): Promise<string | undefined> {
  return docker
    .getImage(reference)
    .inspect()
    .then((image) => image.Id)
    .catch(() => undefined);
}

describe("build_docker_image (test_build_docker_image)", () => {
  /** Prefect's test runs in a folder with Dockerfile and Dockerfile.dev, or with neither (auto). */
  async function project(auto: boolean): Promise<string> {
    const root = await tempDir("pdu-deploy-project-");
    await tree(root, {
      "flow.py": `# ${randomUUID()}\n`,
      "path/to/context/flow.py": "# in a subfolder\n",
      ...(auto
        ? {}
        : {
            Dockerfile: `FROM ${base}\nCOPY flow.py /app/flow.py\n`,
            "Dockerfile.dev": `FROM ${base}\nCOPY flow.py /dev/flow.py\n`,
          }),
    });
    return root;
  }

  const cases: [string, Record<string, unknown>, string][] = [
    ["the default tag", {}, FAKE_DEFAULT_TAG],
    ["Dockerfile.dev", { dockerfile: "Dockerfile.dev" }, FAKE_DEFAULT_TAG],
    ["an explicit tag", { tag: "mytag" }, "mytag"],
    ["dockerfile: auto", { dockerfile: "auto" }, FAKE_DEFAULT_TAG],
    [
      "dockerfile: auto with path",
      { dockerfile: "auto", path: "path/to/context" },
      FAKE_DEFAULT_TAG,
    ],
    ["additional tags", { tag: "mytag", additional_tags: ["addtag1", "addtag2"] }, "mytag"],
    ["persist_dockerfile", { dockerfile: "auto", persist_dockerfile: true }, FAKE_DEFAULT_TAG],
    [
      "dockerfile_output_path",
      { dockerfile: "auto", persist_dockerfile: true, dockerfile_output_path: "Dockerfile.test" },
      FAKE_DEFAULT_TAG,
    ],
  ];

  it.each(cases)("builds with %s", async (_title, inputs, expectedTag) => {
    const { name } = uniqueRepository("deploy-steps");
    const auto = inputs.dockerfile === "auto";
    const root = await project(auto);
    const before = (await readdir(root)).sort();
    const stream = new StringStream();
    const result = await inChdir(root, () =>
      buildDockerImage(
        { image_name: name, ...inputs, ignore_cache: true },
        { now: FAKE_NOW, baseImage: base, streamProgressTo: stream },
      ),
    );
    const additionalTags = (inputs.additional_tags as string[] | undefined) ?? [];
    expect(result).toEqual({
      image_name: name,
      tag: expectedTag,
      image: `${name}:${expectedTag}`,
      image_id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      additional_tags: additionalTags,
    });
    for (const tag of [expectedTag, ...additionalTags]) {
      expect(await localImageId(`${name}:${tag}`)).toBe(result.image_id);
    }
    const inspected = await docker.getImage(result.image).inspect();
    expect(inspected.Config.Labels?.["io.prefect.version"]).toBe(PREFECT_VERSION);
    // pull defaults to true: the engine was asked for the base image.
    expect(stream.getValue()).toMatch(FIRST_STEP);

    const context = path.join(root, (inputs.path as string | undefined) ?? ".");
    if (auto) {
      const contextName = path.basename(context);
      expect(inspected.Config.WorkingDir).toBe(`/opt/prefect/${contextName}/`);
      const persisted = inputs.persist_dockerfile
        ? ((inputs.dockerfile_output_path as string | undefined) ?? "Dockerfile.generated")
        : undefined;
      const expected = persisted ? [...before, persisted].sort() : before;
      expect((await readdir(root)).sort()).toEqual(expected);
      if (persisted) {
        expect(await readFile(path.join(context, persisted), "utf8")).toBe(
          `FROM ${base}\nCOPY . /opt/prefect/${contextName}/\nWORKDIR /opt/prefect/${contextName}/\n`,
        );
        expect(stream.getValue()).toContain(
          `Persisting auto-generated Dockerfile to ${persisted}. Please update your 'dockerfile' value to use this Dockerfile for subsequent runs.`,
        );
      }
    } else {
      expect(await readdir(root)).toEqual(before);
      const where = inputs.dockerfile === "Dockerfile.dev" ? "/dev" : "/app";
      expect(stream.getValue()).toContain(`COPY flow.py ${where}/flow.py`);
    }
  });

  it("installs requirements.txt and copies the flows (test_real_auto_dockerfile_build)", async () => {
    const { name } = uniqueRepository("deploy-steps");
    const flows = path.join(await tempDir("pdu-deploy-"), "test-project");
    await tree(flows, {
      "flow.py": "print('hi')\n",
      "requirements.txt": "pandas\nprefect-docker\n",
    });
    const result = await buildDockerImage(
      {
        image_name: name,
        tag: `test-${randomUUID()}`,
        dockerfile: "auto",
        path: flows,
        pull: false,
      },
      { baseImage: base, ...silent },
    );
    const output = await runImage(result.image, ["sh", "-c", "pwd; ls; cat /opt/uv-installed.txt"]);
    expect(output).toBe(
      "/opt/prefect/test-project\nflow.py\nrequirements.txt\npandas\nprefect-docker\n",
    );
  });
});

describe("build_docker_image without Prefect's bugs", () => {
  it("looks for requirements.txt and the Dockerfile in path, not in the current directory", async () => {
    const { name } = uniqueRepository("deploy-steps");
    const cwd = await tree(await tempDir("pdu-deploy-cwd-"), {
      Dockerfile: "FROM scratch\n",
      "requirements.txt": "from-cwd\n",
    });
    const flows = path.join(await tempDir("pdu-deploy-"), "context-flows");
    await tree(flows, { "flow.py": "", "requirements.txt": "from-context\n" });
    const result = await inChdir(cwd, () =>
      buildDockerImage(
        { image_name: name, tag: "v1", dockerfile: "auto", path: flows },
        { baseImage: base, ...silent },
      ),
    );
    expect(await runImage(result.image, ["sh", "-c", "pwd; cat /opt/uv-installed.txt"])).toBe(
      "/opt/prefect/context-flows\nfrom-context\n",
    );
    expect((await readdir(cwd)).sort()).toEqual(["Dockerfile", "requirements.txt"]);
    expect((await readdir(flows)).sort()).toEqual(["flow.py", "requirements.txt"]);
  });

  it("builds a context without requirements.txt while the current directory has one", async () => {
    const { name } = uniqueRepository("deploy-steps");
    const cwd = await tree(await tempDir("pdu-deploy-cwd-"), { "requirements.txt": "# fail\n" });
    const flows = path.join(await tempDir("pdu-deploy-"), "plain");
    await tree(flows, { "flow.py": "" });
    const result = await inChdir(cwd, () =>
      buildDockerImage(
        { image_name: name, tag: "v1", dockerfile: "auto", path: flows },
        { baseImage: base, ...silent },
      ),
    );
    expect(await runImage(result.image, ["ls", "-A"])).toBe("flow.py\n");
  });

  it("leaves no Dockerfile behind when the build fails or is aborted", async () => {
    const failing = await tree(path.join(await tempDir("pdu-deploy-"), "flows"), {
      "requirements.txt": "# fail\n",
    });
    const before = await autoFolders();
    const error = await buildDockerImage(
      { image_name: localName(), dockerfile: "auto", path: failing },
      { baseImage: base, ...silent },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(await readdir(failing)).toEqual(["requirements.txt"]);

    const slow = await tree(path.join(await tempDir("pdu-deploy-"), "flows"), {
      "requirements.txt": "# sleep 30\n",
    });
    const controller = new AbortController();
    const aborted = await buildDockerImage(
      { image_name: localName(), dockerfile: "auto", path: slow },
      {
        baseImage: base,
        ...silent,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.type === "step" && event.instruction.startsWith("RUN")) controller.abort();
        },
      },
    ).catch((e: unknown) => e);
    expect((aborted as Error).name).toBe("AbortError");
    expect(await readdir(slow)).toEqual(["requirements.txt"]);
    expect(await autoFolders()).toEqual(before);
  });

  it("keeps user labels, with IMAGE_LABELS winning a clash", async () => {
    const { name } = uniqueRepository("deploy-steps");
    const flows = await tree(await tempDir("pdu-deploy-"), { "flow.py": "" });
    const result = await buildDockerImage(
      {
        image_name: name,
        tag: "v1",
        dockerfile: "auto",
        path: flows,
        labels: { "org.example.team": "data", "io.prefect.version": "spoofed" },
      },
      { baseImage: base, ...silent },
    );
    const labels = (await docker.getImage(result.image).inspect()).Config.Labels;
    expect(labels?.["org.example.team"]).toBe("data");
    expect(labels?.["io.prefect.version"]).toBe(PREFECT_VERSION);
  });

  it("retries a transient failure on the classic builder, as buildImage does", async () => {
    const { name } = uniqueRepository("deploy-steps");
    await using proxy = await FaultProxy.start({ socketPath: ENGINE_SOCKET });
    const client = dockerClient({ env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` } });
    const flows = await tree(path.join(await tempDir("pdu-deploy-"), "flows"), {
      "requirements.txt": `# sleep 2\n# ${randomUUID()}\n`,
    });
    const events: ProgressEvent[] = [];
    let cut = false;
    const result = await buildDockerImage(
      { image_name: name, tag: "v1", dockerfile: "auto", path: flows },
      {
        baseImage: base,
        ...silent,
        docker: client,
        retryDelayMs: 50,
        onProgress: (event) => {
          events.push(event);
          if (!cut && event.type === "step" && event.instruction.startsWith("RUN")) {
            cut = true;
            proxy.cutAll();
          }
        },
      },
    );
    expect(events.filter((event) => event.type === "retry")).toHaveLength(1);
    expect(await localImageId(result.image)).toBe(result.image_id);
  });

  it("adds Prefect's hint to a denied pull (test_build_docker_image_denied_message_is_enhanced)", async () => {
    const login = await authRegistry();
    await using registry = await DenyingRegistry.start(Number(login.host.split(":")[1]));
    const config = await tempDir("pdu-deploy-config-");
    await writeFile(
      path.join(config, "config.json"),
      JSON.stringify({
        auths: {
          [registry.host]: { auth: Buffer.from(`${login.username}:wrong`).toString("base64") },
        },
      }),
    );
    const context = await tree(await tempDir("pdu-deploy-"), {
      Dockerfile: `FROM ${registry.host}/${testRepository("deploy-private")}:1\n`,
    });
    const error = await buildDockerImage(
      { image_name: localName(), path: context },
      { ...silent, env: { ...process.env, DOCKER_CONFIG: config } },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    const message = (error as BuildError).message;
    expect(registry.denied).toBeGreaterThan(0);
    // The engine's own text first, then the hint on a line of its own.
    const engineText = ((error as BuildError).cause as BuildError).message;
    expect(engineText).toMatch(/denied/);
    expect(engineText).not.toContain(DENIED_MESSAGE_HINT);
    expect(message).toBe(`${engineText}\n${DENIED_MESSAGE_HINT}`);
    expect(message).toContain("Docker reported access denied");
  });

  it("gives no hint to an error that does not say denied", async () => {
    const context = await tree(await tempDir("pdu-deploy-"), {
      Dockerfile: `FROM ${base}\nRUN exit 3\n`,
    });
    const error = await buildDockerImage({ image_name: localName(), path: context }, silent).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).not.toContain(DENIED_MESSAGE_HINT);
  });
});

describe("push_docker_image", () => {
  /** Builds `name` with `tags` (the first is the main tag). */
  async function built(name: string, tags: string[]) {
    const flows = await tree(await tempDir("pdu-deploy-"), { "flow.py": `# ${randomUUID()}\n` });
    return buildDockerImage(
      {
        image_name: name,
        tag: tags[0],
        additional_tags: tags.slice(1),
        dockerfile: "auto",
        path: flows,
      },
      { baseImage: base, ...silent },
    );
  }

  it("pushes the tag and every additional tag, streaming as it goes (test_push_docker_image_with_additional_tags)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-steps");
    await built(name, ["mytag", "addtag1", "addtag2"]);
    const writes: { text: string; at: number }[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        writes.push({ text: chunk.toString(), at: Date.now() * 1e6 });
        callback();
      },
    });
    const since = engineTime();
    const result = await pushDockerImage(
      { image_name: name, tag: "mytag", additional_tags: ["addtag1", "addtag2"] },
      { streamProgressTo: stream },
    );
    expect(result).toEqual({
      image_name: name,
      tag: "mytag",
      image: `${name}:mytag`,
      additional_tags: ["addtag1", "addtag2"],
    });
    expect(await registryTags(repositoryPath)).toEqual(["addtag1", "addtag2", "mytag"]);
    const digestLines = writes
      .map((write) => write.text)
      .filter((text) => /^\S+: digest: sha256:/.test(text))
      .map((text) => text.split(":")[0]);
    expect(digestLines).toEqual(["mytag", "addtag1", "addtag2"]);
    // Streamed, not buffered: the first tag's lines were written before the last push ended.
    const pushes = await engineEvents(since, { image: [name], event: ["push"] });
    expect(pushes).toHaveLength(3);
    const lastPushEnded = Math.max(...pushes.map((event) => event.timeNano));
    const firstDigestWritten = writes.find((write) => write.text.startsWith("mytag: digest"))?.at;
    expect(firstDigestWritten).toBeLessThan(lastPushEnded);
  });

  it("pushes through the engine with build_backend buildx too (TestBuildxBackend push tests)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-steps");
    await built(name, ["mytag", "tag1", "tag2"]);
    const stream = new StringStream();
    const result = await pushDockerImage(
      {
        image_name: name,
        tag: "mytag",
        additional_tags: ["tag1", "tag2"],
        build_backend: "buildx",
      },
      { streamProgressTo: stream },
    );
    expect(result).toMatchObject({ tag: "mytag", additional_tags: ["tag1", "tag2"] });
    expect(await registryTags(repositoryPath)).toEqual(["mytag", "tag1", "tag2"]);
    expect(stream.getValue().match(/^\S+: digest: sha256:/gm)).toHaveLength(3);
  });

  it("pushes every local tag when no tag is given (test_push_image_without_tag)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-steps");
    await built(name, ["one", "two"]);
    const result = await pushDockerImage({ image_name: name }, silent);
    expect(result).toEqual({ image_name: name, tag: null, image: name, additional_tags: [] });
    expect(await registryTags(repositoryPath)).toEqual(["one", "two"]);
  });

  it("pushes without credentials to an open registry (test_push_docker_image_without_credentials)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-steps");
    await built(name, ["mytag"]);
    const stream = new StringStream();
    await pushDockerImage({ image_name: name, tag: "mytag" }, { streamProgressTo: stream });
    expect(await registryTags(repositoryPath)).toEqual(["mytag"]);
    expect(stream.getValue()).toMatch(/^The push refers to repository \[/);
    expect(stream.getValue()).toMatch(/^mytag: digest: sha256:[0-9a-f]{64} size: \d+\n$/m);
  });

  it("sends credentials to their registry for this push only (test_push_docker_image_with_credentials)", async () => {
    const login = await authRegistry();
    const repositoryPath = testRepository("deploy-steps");
    const name = `${login.host}/${repositoryPath}`;
    removeImagesAfterwards(name);
    await built(name, ["mytag"]);
    const config = await tempDir("pdu-deploy-config-");
    const env = { ...process.env, DOCKER_CONFIG: config };
    const credentials = {
      username: login.username,
      password: login.password,
      registry_url: `http://${login.host}`,
      reauth: true,
    };
    const result = await pushDockerImage(
      { image_name: name, tag: "mytag", credentials },
      { ...silent, env },
    );
    expect(result.image).toBe(`${name}:mytag`);
    expect(await registryTags(repositoryPath, login.host, login)).toEqual(["mytag"]);
    // Nothing written to the Docker configuration, and the engine kept no login.
    expect(await readdir(config)).toEqual([]);
    const error = await pushDockerImage(
      { image_name: name, tag: "mytag", ignore_cache: true },
      { ...silent, env },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
  });

  it("rejects with PushError on an error in the push stream (test_push_docker_image_raises_on_event_error)", async () => {
    const login = await authRegistry();
    const name = `${login.host}/${testRepository("deploy-steps")}`;
    removeImagesAfterwards(name);
    await built(name, ["mytag"]);
    const error = await pushDockerImage(
      {
        image_name: name,
        tag: "mytag",
        credentials: { username: login.username, password: "wrong", registry_url: login.host },
        ignore_cache: true,
      },
      { ...silent, env: { ...process.env, DOCKER_CONFIG: await tempDir("pdu-deploy-config-") } },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).message).toMatch(/unauthorized|authentication required/);
    expect((error as PushError).message).not.toContain("wrong");
  });
});

describe("the step cache (TestCachedSteps), counted in the engine's event log", () => {
  async function context(): Promise<string> {
    return tree(await tempDir("pdu-deploy-"), { "flow.py": `# ${randomUUID()}\n` });
  }

  it("builds identical inputs once (test_cached_build_docker_image)", async () => {
    const { name } = uniqueRepository("deploy-steps");
    const inputs = {
      image_name: name,
      dockerfile: "auto",
      tag: "mytag",
      additional_tags: ["tag1", "tag2"],
      path: await context(),
    };
    const since = engineTime();
    const results = [];
    for (let i = 0; i < 3; i++) {
      results.push(await buildDockerImage(inputs, { baseImage: base, ...silent }));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    expect(results[0]).toMatchObject({ image: `${name}:mytag`, additional_tags: ["tag1", "tag2"] });
    expect(await countEvents(since, name, "tag")).toBe(3);
  });

  it("builds every time with ignore_cache (test_uncached_build_docker_image)", async () => {
    const { name } = uniqueRepository("deploy-steps");
    const inputs = {
      image_name: name,
      dockerfile: "auto",
      tag: "mytag",
      additional_tags: ["tag1", "tag2"],
      path: await context(),
      ignore_cache: true,
    };
    const since = engineTime();
    for (let i = 0; i < 3; i++) await buildDockerImage(inputs, { baseImage: base, ...silent });
    expect(await countEvents(since, name, "tag")).toBe(9);
  });

  /** Prefect's push tests' setup: an image built as `mytag` with the extra tags `a1` and `a2`. */
  async function builtWithExtraTags(): Promise<string> {
    const { name } = uniqueRepository("deploy-steps");
    await buildDockerImage(
      {
        image_name: name,
        dockerfile: "auto",
        tag: "mytag",
        additional_tags: ["a1", "a2"],
        path: await context(),
      },
      { baseImage: base, ...silent },
    );
    return name;
  }

  it("pushes identical inputs once (test_cached_push_docker_image)", async () => {
    const name = await builtWithExtraTags();
    const since = engineTime();
    for (let i = 0; i < 2; i++) {
      expect(
        await pushDockerImage(
          { image_name: name, tag: "mytag", additional_tags: ["a1", "a2"] },
          silent,
        ),
      ).toEqual({
        image_name: name,
        tag: "mytag",
        image: `${name}:mytag`,
        additional_tags: ["a1", "a2"],
      });
    }
    expect(await countEvents(since, name, "push")).toBe(3);
  });

  it("pushes every time with ignore_cache (test_uncached_push_docker_image)", async () => {
    const name = await builtWithExtraTags();
    const since = engineTime();
    for (let i = 0; i < 3; i++) {
      await pushDockerImage(
        { image_name: name, tag: "mytag", additional_tags: ["a1", "a2"], ignore_cache: true },
        silent,
      );
    }
    expect(await countEvents(since, name, "push")).toBe(9);
  });

  it("keeps the build's and the push's caches apart (test_avoids_aggressive_caching)", async () => {
    const { name } = uniqueRepository("deploy-steps");
    const since = engineTime();
    await inChdir(await context(), () =>
      buildDockerImage(
        { image_name: name, tag: "latest", dockerfile: "auto" },
        { baseImage: base, ...silent },
      ),
    );
    await pushDockerImage({ image_name: name, tag: "latest" }, silent);
    expect(await countEvents(since, name, "tag")).toBe(1);
    expect(await countEvents(since, name, "push")).toBe(1);
  });
});

describe("the default namespace", () => {
  function namespaceEnv(namespace: string) {
    return { ...process.env, PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE: namespace };
  }

  it("prefixes the image name on build and push (test_*_with_default_namespace)", async () => {
    const namespacePath = testRepository("deploy-ns");
    const namespace = `${OPEN_REGISTRY}/${namespacePath}`;
    const expected = `${namespace}/test-image`;
    removeImagesAfterwards(expected);
    deleteFromRegistryAfterwards(`${namespacePath}/test-image`);
    const env = namespaceEnv(namespace);
    const flows = await tree(await tempDir("pdu-deploy-"), { "flow.py": "" });
    const build = await buildDockerImage(
      {
        image_name: "test-image",
        tag: "latest",
        dockerfile: "auto",
        path: flows,
        ignore_cache: true,
      },
      { baseImage: base, ...silent, env },
    );
    expect(build).toMatchObject({
      image_name: expected,
      tag: "latest",
      image: `${expected}:latest`,
    });
    expect(await localImageId(`${expected}:latest`)).toBe(build.image_id);
    const push = await pushDockerImage(
      { image_name: "test-image", tag: "latest", ignore_cache: true },
      { ...silent, env },
    );
    expect(push).toMatchObject({ image_name: expected, image: `${expected}:latest` });
    expect(await registryTags(`${namespacePath}/test-image`)).toEqual(["latest"]);
  });

  it("keeps a namespace given in the name (test_*_namespace_precedence)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-steps");
    const env = namespaceEnv(`${OPEN_REGISTRY}/${testRepository("deploy-unused")}`);
    const flows = await tree(await tempDir("pdu-deploy-"), { "flow.py": "" });
    const build = await buildDockerImage(
      { image_name: name, tag: "latest", dockerfile: "auto", path: flows, ignore_cache: true },
      { baseImage: base, ...silent, env },
    );
    expect(build.image).toBe(`${name}:latest`);
    const push = await pushDockerImage(
      { image_name: name, tag: "latest", ignore_cache: true },
      { ...silent, env },
    );
    expect(push.image).toBe(`${name}:latest`);
    expect(await registryTags(repositoryPath)).toEqual(["latest"]);
  });

  it("refuses an invalid name from the namespace before any build", async () => {
    const error = await buildDockerImage(
      { image_name: "test-image", ignore_cache: true },
      { ...silent, env: namespaceEnv("Not A Namespace") },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
  });
});
