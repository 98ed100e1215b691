/**
 * The deploy steps' checks that need no engine: names, backends, inputs, build options, the auto
 * Dockerfile's text, the step cache. Builds and pushes are in
 * test/integration/deploy/deploy-steps.test.ts.
 *
 * Ported from PrefectHQ/prefect `src/integrations/prefect-docker/tests/deployments/test_steps.py`
 * (here; the white-space table against Python is in test/python-parity/deploy-image-name.test.ts):
 * test_build_docker_image_rejects_invalid_image_name,
 * test_push_docker_image_rejects_invalid_image_name (the engine is unreachable on purpose: the
 * error must come before any request), test_build_docker_image_raises_with_auto_and_existing_dockerfile.
 * From `tests/docker/test_buildx.py` (here): test_multi_platform_requires_push,
 * test_kwargs_passthrough (secrets, ssh, cache_from mapped; cache_to refused by name, since the
 * Engine API exports no cache), test_decode_kwarg_stripped (decode is accepted and changes
 * nothing), test_requires_context / test_requires_existing_context (a missing `path`).
 * Everything else of those files runs against the engine in the integration file.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { autoDockerfileLines, persistDockerfile } from "../src/deploy/auto-dockerfile.js";
import { mapBuildKwargs } from "../src/deploy/build-kwargs.js";
import { validateStepImageName } from "../src/deploy/deploy-image-name.js";
import { StepCache, stepCacheKey } from "../src/deploy/step-cache.js";
import { dockerClient } from "../src/dockerode.js";
import { EngineUnreachableError, getPrefectImageName, InvalidArgumentError } from "../src/index.js";
import { buildDockerImage, clearStepCache, pushDockerImage } from "../src/steps.js";
import { tempDir, tree } from "./support/files.js";

/** An engine that is not there: any request would fail with EngineUnreachableError. */
const nowhere = () =>
  dockerClient({ env: { DOCKER_HOST: "unix:///tmp/pdu-deploy-no-engine.sock" } });
const quiet = { streamProgressTo: null, docker: nowhere(), env: {} } as const;

async function autoFolders(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith("prefect-dockerutils-auto-"));
}

describe("image names", () => {
  it("rejects a name with a space before building, with Prefect's message", async () => {
    const error = await buildDockerImage(
      { image_name: "201_ docker", ignore_cache: true },
      quiet,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      "Invalid Docker image name '201_ docker'. Image names cannot contain spaces. Use lowercase letters, numbers, and separators like '-', '_', '.', and '/'.",
    );
  });

  it("rejects a name with a space before pushing", async () => {
    const error = await pushDockerImage(
      { image_name: "bad name", tag: "mytag", ignore_cache: true },
      quiet,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/^Invalid Docker image name 'bad name'/);
  });

  it("rejects every kind of white space, not only the ASCII space", () => {
    for (const space of ["\t", "\n", "\u00a0", "\u2003", "\u3000", "\x1f", "\x85"]) {
      expect(() => validateStepImageName(`repo${space}name`)).toThrow(/Invalid Docker image name/);
    }
    // U+FEFF is \s to JavaScript but not str.isspace() to Python (test/python-parity has the full table).
    expect(validateStepImageName("repo\ufeffname")).toBe("repo\ufeffname");
  });

  it("rejects an image reference the engine would refuse, naming it", async () => {
    const error = await buildDockerImage(
      { image_name: "Registry/Repo", tag: "v1", ignore_cache: true },
      quiet,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/"Registry\/Repo:v1"/);
    await expect(
      buildDockerImage({ image_name: "repo", additional_tags: ["ok", "no good"] }, quiet),
    ).rejects.toThrow(/additional_tags\[1\] must be a tag/);
    await expect(
      buildDockerImage({ image_name: "repo", tag: 1.1 as never, ignore_cache: true }, quiet),
    ).rejects.toThrow('tag must be a string, got the number 1.1; quote it in YAML (tag: "1.1")');
  });
});

describe("build_backend", () => {
  it("rejects an unknown backend with Prefect's message and leaves no Dockerfile behind", async () => {
    const context = await tree(await tempDir(), { "flow.py": "" });
    const before = await autoFolders();
    const error = await buildDockerImage(
      { image_name: "repo", dockerfile: "auto", build_backend: "kaniko" as never, path: context },
      quiet,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(
      /^Invalid build_backend 'kaniko'\. Expected 'docker-py' or 'buildx'\./,
    );
    expect(await readdir(context)).toEqual(["flow.py"]);
    expect(await autoFolders()).toEqual(before);
    await expect(
      pushDockerImage({ image_name: "repo", tag: "x", build_backend: "kaniko" as never }, quiet),
    ).rejects.toThrow(/Invalid build_backend 'kaniko'/);
  });

  it("leaves no Dockerfile behind when the engine cannot be reached", async () => {
    const context = await tree(await tempDir(), { "flow.py": "", "requirements.txt": "" });
    const before = await autoFolders();
    const error = await buildDockerImage(
      { image_name: "repo", dockerfile: "auto", path: context, ignore_cache: true },
      { ...quiet, retries: 0 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((await readdir(context)).sort()).toEqual(["flow.py", "requirements.txt"]);
    expect(await autoFolders()).toEqual(before);
  });
});

describe("dockerfile: auto", () => {
  it("refuses when the build context already has a Dockerfile", async () => {
    const context = await tree(await tempDir(), { Dockerfile: "FROM scratch\n" });
    const error = await buildDockerImage(
      { image_name: "registry/repo", dockerfile: "auto", path: context, ignore_cache: true },
      quiet,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/^Dockerfile already exists\./);
    expect(await readFile(path.join(context, "Dockerfile"), "utf8")).toBe("FROM scratch\n");
  });

  it("writes Prefect's lines, with requirements.txt found in the context", async () => {
    const flows = path.join(await tempDir(), "my-flows");
    await tree(flows, { "flow.py": "", "requirements.txt": "pandas\n" });
    expect(await autoDockerfileLines(flows)).toEqual([
      `FROM ${getPrefectImageName()}`,
      "COPY requirements.txt /opt/prefect/my-flows/requirements.txt",
      "RUN uv pip install -r /opt/prefect/my-flows/requirements.txt",
      "COPY . /opt/prefect/my-flows/",
      "WORKDIR /opt/prefect/my-flows/",
    ]);
    const bare = path.join(await tempDir(), "bare");
    await tree(bare, { "flow.py": "" });
    expect(await autoDockerfileLines(bare, { baseImage: "busybox:latest" })).toEqual([
      "FROM busybox:latest",
      "COPY . /opt/prefect/bare/",
      "WORKDIR /opt/prefect/bare/",
    ]);
  });

  it("names /opt/prefect/<dir> after the context, even when it is given as '.'", async () => {
    const flows = path.join(await tempDir(), "flows-here");
    await mkdir(flows);
    const cwd = process.cwd();
    process.chdir(flows);
    try {
      expect(await autoDockerfileLines(".", { baseImage: "busybox" })).toContain(
        "WORKDIR /opt/prefect/flows-here/",
      );
    } finally {
      process.chdir(cwd);
    }
  });

  it("escapes a folder name with spaces, quotes, $ and \\ so that it means itself", async () => {
    const flows = path.join(await tempDir(), `my flows $HOME 'q" \\b`);
    await tree(flows, { "requirements.txt": "" });
    expect(await autoDockerfileLines(flows, { baseImage: "busybox" })).toEqual([
      "FROM busybox",
      String.raw`COPY ["requirements.txt", "/opt/prefect/my flows \\$HOME \\'q\\\" \\\\b/requirements.txt"]`,
      String.raw`RUN uv pip install -r '/opt/prefect/my flows $HOME '\''q" \b/requirements.txt'`,
      String.raw`COPY [".", "/opt/prefect/my flows \\$HOME \\'q\\\" \\\\b/"]`,
      String.raw`WORKDIR /opt/prefect/my flows \$HOME \'q\" \\b/`,
    ]);
  });

  it("refuses a folder name with a line break, which would inject Dockerfile lines", async () => {
    const flows = path.join(await tempDir(), "evil\nRUN echo injected");
    await mkdir(flows);
    await expect(autoDockerfileLines(flows, { baseImage: "busybox" })).rejects.toThrow(
      /contains control characters/,
    );
    await expect(
      autoDockerfileLines(await tempDir(), { baseImage: "busybox\nRUN x" }),
    ).rejects.toThrow(/baseImage must be an image reference/);
  });

  it("persists to a file, but never through a symbolic link or into a FIFO", async () => {
    const dir = await tempDir();
    await persistDockerfile(dir, "Dockerfile.generated", ["FROM busybox"]);
    expect(await readFile(path.join(dir, "Dockerfile.generated"), "utf8")).toBe("FROM busybox\n");
    const outside = path.join(dir, "outside.txt");
    await writeFile(outside, "mine\n");
    await symlink(outside, path.join(dir, "link"));
    await expect(persistDockerfile(dir, "link", ["FROM x"])).rejects.toThrow(
      /it is a symbolic link/,
    );
    expect(await readFile(outside, "utf8")).toBe("mine\n");
    execFileSync("mkfifo", [path.join(dir, "fifo")]);
    await expect(persistDockerfile(dir, "fifo", ["FROM x"])).rejects.toThrow(/FIFO/);
  });
});

describe("build options by docker-py's and python-on-whales' names", () => {
  it("maps docker-py's keyword arguments", () => {
    const mapped = mapBuildKwargs(
      {
        path: "ctx",
        nocache: true,
        rm: false,
        forcerm: false,
        buildargs: { A: "1" },
        shmsize: 67108864,
        labels: { team: "data" },
        cache_from: ["base:cache"],
        target: "final",
        network_mode: "host",
        squash: false,
        extra_hosts: ["db:127.0.0.1", "v6:::1"],
        platform: "linux/amd64",
        container_limits: { memory: 1073741824 },
        timeout: 30,
        decode: true,
        use_config_proxy: false,
      },
      "classic",
    );
    expect(mapped.context).toBe("ctx");
    expect(mapped.pull).toBe(true);
    expect(mapped.push).toBe(false);
    expect(mapped.options).toEqual({
      noCache: true,
      rm: false,
      forceRm: false,
      buildArgs: { A: "1" },
      shmSize: 67108864,
      labels: { team: "data" },
      cacheFrom: ["base:cache"],
      target: "final",
      networkMode: "host",
      squash: false,
      extraHosts: { db: "127.0.0.1", v6: "::1" },
      platform: "linux/amd64",
      memory: 1073741824,
      inactivityTimeoutMs: 30_000,
    });
    expect(mapBuildKwargs({ pull: false, quiet: true }, "classic")).toMatchObject({
      pull: false,
      quiet: true,
    });
  });

  it("maps python-on-whales' buildx keyword arguments", () => {
    const mapped = mapBuildKwargs(
      {
        build_args: { A: "1" },
        cache: false,
        cache_from: ["type=registry,ref=myregistry/myimage:cache", "plain/ref:1"],
        network: "host",
        add_hosts: { db: "127.0.0.1" },
        secrets: [
          "id=mysecret,src=secret.txt",
          "id=token,env=TOKEN",
          "type=file,id=f,source=f.txt",
        ],
        ssh: ["default", "other=/run/agent.sock"],
        labels: { team: "data" },
        load: true,
        push: true,
        platforms: ["linux/amd64"],
      },
      "buildkit",
    );
    expect(mapped.push).toBe(true);
    expect(mapped.options).toEqual({
      buildArgs: { A: "1" },
      noCache: true,
      cacheFrom: ["myregistry/myimage:cache", "plain/ref:1"],
      networkMode: "host",
      extraHosts: { db: "127.0.0.1" },
      secrets: { mysecret: { file: "secret.txt" }, token: { env: "TOKEN" }, f: { file: "f.txt" } },
      ssh: { default: true, other: "/run/agent.sock" },
      labels: { team: "data" },
      platform: "linux/amd64",
    });
    expect(mapBuildKwargs({ secrets: "id=one,src=a", ssh: "default" }, "buildkit").options).toEqual(
      { secrets: { one: { file: "a" } }, ssh: { default: true } },
    );
  });

  it("requires push for a multi-platform BuildKit build, with Prefect's message", () => {
    expect(() =>
      mapBuildKwargs({ platforms: ["linux/amd64", "linux/arm64"], push: false }, "buildkit"),
    ).toThrow(
      "Multi-platform builds require push=True because buildx cannot load multi-platform results into the local Docker daemon. Either set push=True or build for a single platform.",
    );
    const mapped = mapBuildKwargs(
      { platforms: ["linux/amd64", "linux/arm64"], push: true },
      "buildkit",
    );
    expect(mapped.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(mapped.options.platform).toBeUndefined();
    expect(mapBuildKwargs({ platform: "linux/arm64" }, "buildkit").platforms).toBeUndefined();
    expect(mapBuildKwargs({ platform: "linux/arm64" }, "buildkit").options.platform).toBe(
      "linux/arm64",
    );
  });

  it.each([
    [
      { frobnicate: 1 },
      "classic",
      /Unknown build option "frobnicate" for build_backend 'docker-py'/,
    ],
    [{ secrets: ["id=x,src=y"] }, "classic", /Unknown build option "secrets"/],
    [{ push: true }, "classic", /Unknown build option "push" for build_backend 'docker-py'/],
    [{ build_args: {} }, "classic", /it is called buildargs/],
    [{ buildargs: {} }, "buildkit", /with build_backend 'buildx' it is called build_args/],
    [{ nocache: true }, "buildkit", /it is called cache/],
    [{ cache_to: ["type=inline"] }, "buildkit", /cache_to is not supported/],
    [{ gzip: true }, "classic", /gzip is not supported/],
    [{ fileobj: "x" }, "classic", /fileobj is not supported/],
    [{ use_config_proxy: true }, "classic", /use_config_proxy: true is not supported/],
    [{ load: false }, "buildkit", /load: false is not supported/],
    [
      { container_limits: { cpushares: 2 } },
      "classic",
      /container_limits\.cpushares is not supported/,
    ],
    [{ cache_from: ["type=local,src=/tmp/cache"] }, "buildkit", /imports cache from images only/],
    [{ secrets: ["id=x"] }, "buildkit", /must be "id=<id>,src=<file>"/],
    [{ nocache: "yes" }, "classic", /nocache must be true or false, got "yes"/],
    [{ buildargs: { A: 1 } }, "classic", /buildargs\["A"\] must be a string/],
    [{ timeout: -1 }, "classic", /timeout must be a number of seconds above 0/],
  ] as const)("refuses %j for %s, naming it", (kwargs, builder, message) => {
    expect(() => mapBuildKwargs(kwargs, builder)).toThrow(InvalidArgumentError);
    expect(() => mapBuildKwargs(kwargs, builder)).toThrow(message);
  });

  it("checks the mapped options before persisting the auto Dockerfile", async () => {
    const context = await tree(await tempDir(), { "flow.py": "" });
    await expect(
      buildDockerImage(
        {
          image_name: "repo",
          dockerfile: "auto",
          persist_dockerfile: true,
          path: context,
          container_limits: { memory: 1024 },
          ignore_cache: true,
        },
        quiet,
      ),
    ).rejects.toThrow(/memory must be 0 \(no limit\) or at least/);
    expect(await readdir(context)).toEqual(["flow.py"]);
  });

  it("refuses an unknown build option in the step before contacting the engine", async () => {
    const error = await buildDockerImage(
      { image_name: "repo", tag: "x", nocahce: true, ignore_cache: true },
      quiet,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/Unknown build option "nocahce"/);
  });

  it("refuses a missing context folder (test_requires_existing_context)", async () => {
    const missing = path.join(await tempDir(), "nonexistent");
    await expect(
      buildDockerImage({ image_name: "repo", path: missing, ignore_cache: true }, quiet),
    ).rejects.toThrow(`Context path ${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
  });

  it("refuses a file as the context folder, saying to pass the folder in path", async () => {
    const file = path.join(await tempDir(), "flow.py");
    await writeFile(file, "");
    await expect(
      buildDockerImage({ image_name: "repo", path: file, ignore_cache: true }, quiet),
    ).rejects.toThrow(`Context path ${file} is not a folder; pass the folder to build in path`);
  });
});

describe("push_docker_image's inputs", () => {
  it("refuses unknown inputs and malformed credentials without showing the password", async () => {
    await expect(
      pushDockerImage({ image_name: "repo", tag: "x", push: true } as never, quiet),
    ).rejects.toThrow(/Unknown input "push" of push_docker_image/);
    const error = await pushDockerImage(
      {
        image_name: "repo",
        tag: "x",
        credentials: { username: "u", password: 12345 as never, registry_url: "r.example.com" },
      },
      quiet,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).not.toContain("12345");
    await expect(
      pushDockerImage(
        {
          image_name: "repo",
          tag: "x",
          credentials: { username: "u", password: "p", registry: "r" } as never,
        },
        quiet,
      ),
    ).rejects.toThrow(/unknown field "registry"/);
  });
});

describe("the step cache", () => {
  it("keys inputs by value, whatever the order of their keys", () => {
    expect(stepCacheKey({ a: 1, b: { y: [1, 2], x: "s" } })).toBe(
      stepCacheKey({ b: { x: "s", y: [1, 2] }, a: 1 }),
    );
    expect(stepCacheKey({ tags: ["a", "b"] })).not.toBe(stepCacheKey({ tags: ["b", "a"] }));
    expect(stepCacheKey({ a: undefined })).toBe(stepCacheKey({}));
  });

  it("runs identical work once, shares a run under way, forgets failures, and forces on request", async () => {
    const cache = new StepCache<number>("test");
    let runs = 0;
    const work = async () => ++runs;
    const [first, second] = await Promise.all([
      cache.run("k", false, work),
      cache.run("k", false, work),
    ]);
    expect([first, second, runs]).toEqual([1, 1, 1]);
    expect(await cache.run("k", true, work)).toBe(2);
    expect(await cache.run("k", false, work)).toBe(2);
    await expect(cache.run("fails", false, () => Promise.reject(new Error("no")))).rejects.toThrow(
      "no",
    );
    expect(await cache.run("fails", false, work)).toBe(3);
    clearStepCache();
    expect(await cache.run("k", false, work)).toBe(4);
  });
});
