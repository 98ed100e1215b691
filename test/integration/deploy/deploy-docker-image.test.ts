/**
 * DockerImage on the real engine and registries.
 *
 * Ported from PrefectHQ/prefect `tests/docker/test_docker_image.py` (docker-py and
 * python-on-whales were mocked there; here the engine does the work):
 * - test_build_passes_stream_progress_to, test_build_passes_stdout_by_default,
 *   test_push_streams_progress, test_push_without_stream_does_not_error.
 * - test_docker_py_backend_calls_build_image (the classic builder's `Step N/M` output),
 *   test_docker_py_push_still_works.
 * From `tests/runner/test_runner.py` (the image part of `deploy()`): test_deploy (built tagged
 * name:tag from the current directory with pull on and progress streamed; pushed as name:tag),
 * test_deploy_custom_dockerfile (no generated Dockerfile), test_deploy_with_image_string
 * (streamProgressTo: null is silent).
 * The BuildKit tests of test_docker_image.py (test_buildx_backend_calls_buildx_build_image,
 * test_buildx_build_kwargs_forwarded, test_buildx_build_with_push,
 * test_buildx_push_is_noop_after_push_build, test_buildx_push_calls_buildx_push_image) are in
 * deploy-buildkit.test.ts. The constructor tests are in test/deploy/docker-image.test.ts.
 * Not ported: the deploy() tests about work pools, the Prefect API and console messages.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BuildError,
  DockerImage,
  InvalidArgumentError,
  PREFECT_VERSION,
  type ProgressEvent,
  PushError,
} from "../../../src/index.js";
import { tempDir } from "../../support/files.js";
import {
  authRegistry,
  autoFolders,
  countEvents,
  engineTime,
  flowFolder,
  inChdir,
  localName,
  OPEN_REGISTRY,
  registryTags,
  removeImagesAfterwards,
  removeStandInBaseImage,
  standInBaseImage,
  uniqueRepository,
} from "../deploy-support.js";
import {
  captureOutput,
  docker,
  FIRST_STEP,
  runFailed,
  runImage,
  StringStream,
  testRepository,
} from "../support.js";

let base: string;
beforeAll(async () => {
  base = await standInBaseImage();
});
afterAll(removeStandInBaseImage);

describe("DockerImage.build and push (test_deploy)", () => {
  it("builds name:tag from the current directory with pull on, and pushes name:tag", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-image");
    const folder = await flowFolder("my-flows");
    const events: ProgressEvent[] = [];
    const stream = new StringStream();
    const image = new DockerImage(name, {
      tag: "test-tag",
      baseImage: base,
      streamProgressTo: stream,
      onProgress: (event) => events.push(event),
    });
    const imageId = await inChdir(folder, () => image.build());

    const inspected = await docker.getImage(image.reference).inspect();
    expect(inspected.Id).toBe(imageId);
    expect(inspected.Config.WorkingDir).toBe("/opt/prefect/my-flows/");
    expect(inspected.Config.Labels?.["io.prefect.version"]).toBe(PREFECT_VERSION);
    // pull defaults to true, as in Prefect: the engine asked the registry for the base image.
    expect(events.some((event) => event.type === "status" && event.operation === "pull")).toBe(
      true,
    );
    expect(stream.getValue()).toMatch(FIRST_STEP);
    expect((await runImage(`${image.reference}`)).trim()).toBe("");
    expect(await readdir(folder)).toEqual(["flow.py"]);

    const since = engineTime();
    const pushed = await image.push();
    // The same PushResult as pushImageDetailed's.
    expect(pushed).toMatchObject({
      reference: `${name}:test-tag`,
      tag: "test-tag",
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      warnings: [],
    });
    expect(Object.keys(pushed).sort()).toEqual(["digest", "reference", "size", "tag", "warnings"]);
    expect(await registryTags(repositoryPath)).toEqual(["test-tag"]);
    expect(await countEvents(since, name, "push")).toBe(1);
    // Unlike pushImage, nothing is re-tagged or untagged: the built tag stays.
    expect((await docker.getImage(image.reference).inspect()).Id).toBe(imageId);
  });

  it("copies the flow folder to /opt/prefect/<folder>/ and works there", async () => {
    const { name } = uniqueRepository("deploy-image");
    const folder = await flowFolder("flows", { "sub/data.txt": "data\n" });
    const image = new DockerImage(name, {
      tag: "v1",
      baseImage: base,
      context: folder,
      streamProgressTo: null,
    });
    await image.build();
    const listing = await runImageWith(image.reference, [
      "sh",
      "-c",
      "pwd; ls -A; cat sub/data.txt",
    ]);
    expect(listing.split("\n")).toEqual(["/opt/prefect/flows", "flow.py", "sub", "data", ""]);
  });

  it("builds with the given Dockerfile and generates none (test_deploy_custom_dockerfile)", async () => {
    const { name } = uniqueRepository("deploy-image");
    const folder = await flowFolder("project", {
      Dockerfile: `FROM ${base}\nCOPY flow.py /custom/flow.py\n`,
    });
    const stream = new StringStream();
    const image = new DockerImage(name, {
      tag: "custom",
      dockerfile: "Dockerfile",
      context: folder,
      streamProgressTo: stream,
    });
    await image.build();
    expect(stream.getValue()).toContain("COPY flow.py /custom/flow.py");
    expect(stream.getValue()).not.toContain("/opt/prefect");
    expect(await runImageWith(image.reference, ["ls", "/custom"])).toBe("flow.py\n");
  });
});

describe("DockerImage's progress stream", () => {
  it("receives the build output (test_build_passes_stream_progress_to)", async () => {
    const { name } = uniqueRepository("deploy-image");
    const stream = new StringStream();
    const image = new DockerImage(name, {
      baseImage: base,
      context: await flowFolder(),
      streamProgressTo: stream,
    });
    await image.build();
    expect(stream.getValue()).toMatch(FIRST_STEP);
    expect(stream.getValue()).toContain("Successfully tagged");
  });

  it("is process.stdout by default (test_build_passes_stdout_by_default)", async () => {
    const { name } = uniqueRepository("deploy-image");
    const image = new DockerImage(name, { baseImage: base, context: await flowFolder() });
    const { out } = await captureOutput(() => image.build());
    expect(out).toMatch(FIRST_STEP);
  });

  it("is silent with null, for build and push (test_deploy_with_image_string)", async () => {
    const { name } = uniqueRepository("deploy-image");
    const image = new DockerImage(name, {
      baseImage: base,
      context: await flowFolder(),
      streamProgressTo: null,
    });
    const { out, err } = await captureOutput(async () => {
      await image.build();
      await image.push();
    });
    expect(out).toBe("");
    expect(err).toBe("");
  });

  it("receives Prefect's push status lines (test_push_streams_progress)", async () => {
    const { name } = uniqueRepository("deploy-image");
    const stream = new StringStream();
    const image = new DockerImage(name, {
      tag: "latest",
      baseImage: base,
      context: await flowFolder("flows", { "big.bin": randomUUID().repeat(20_000) }),
      streamProgressTo: null,
    });
    await image.build();
    const pushing = new DockerImage(image.reference, { streamProgressTo: stream });
    await pushing.push();
    const output = stream.getValue();
    expect(output).toMatch(/^The push refers to repository \[/m);
    expect(output).toMatch(/^Pushing \[=*>? *\] +[0-9.]+[kM]B\/[0-9.]+[kM]B$/m);
    expect(output).toMatch(/^Pushed$/m);
    expect(output).toMatch(/^latest: digest: sha256:[0-9a-f]{64} size: \d+$/m);
  });

  it("is not needed to push (test_push_without_stream_does_not_error)", async () => {
    const { name, path: repositoryPath } = uniqueRepository("deploy-image");
    const image = new DockerImage(name, {
      tag: "latest",
      baseImage: base,
      context: await flowFolder(),
      streamProgressTo: null,
    });
    await image.build();
    await image.push();
    expect(await registryTags(repositoryPath)).toEqual(["latest"]);
  });
});

describe("DockerImage.push's credentials and errors", () => {
  it("pushes with the Docker configuration's login for the registry, and logs nothing in", async () => {
    const login = await authRegistry();
    const repositoryPath = testRepository("deploy-image");
    const name = `${login.host}/${repositoryPath}`;
    removeImagesAfterwards(name);
    const config = await tempDir("pdu-deploy-config-");
    const configText = JSON.stringify({
      auths: {
        [login.host]: {
          auth: Buffer.from(`${login.username}:${login.password}`).toString("base64"),
        },
      },
    });
    await writeFile(path.join(config, "config.json"), configText);
    const env = { ...process.env, DOCKER_CONFIG: config };
    const image = new DockerImage(name, {
      tag: "v1",
      baseImage: base,
      context: await flowFolder(),
      streamProgressTo: null,
      env,
    });
    await image.build();
    await image.push();
    expect(await registryTags(repositoryPath, login.host, login)).toEqual(["v1"]);
    expect(await readFile(path.join(config, "config.json"), "utf8")).toBe(configText);

    // Without that login the same push is refused: the engine kept no login of its own.
    const empty = await tempDir("pdu-deploy-config-");
    const refused = new DockerImage(image.reference, {
      streamProgressTo: null,
      env: { ...process.env, DOCKER_CONFIG: empty },
    });
    const error = await refused.push().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).message).toMatch(/no basic auth credentials/);
    expect(await readdir(empty)).toEqual([]);
  });

  it("rejects with PushError when the image does not exist", async () => {
    const image = new DockerImage(`${OPEN_REGISTRY}/${testRepository("deploy-missing")}`, {
      tag: "v1",
      streamProgressTo: null,
    });
    const error = await image.push().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).message).toMatch(/does not exist|No such image/i);
  });
});

describe("DockerImage without Prefect's bugs", () => {
  it("keeps user labels, with IMAGE_LABELS winning a clash", async () => {
    const { name } = uniqueRepository("deploy-image");
    const image = new DockerImage(name, {
      baseImage: base,
      context: await flowFolder(),
      streamProgressTo: null,
      labels: { "org.example.team": "data", "io.prefect.version": "spoofed" },
    });
    await image.build();
    const labels = (await docker.getImage(image.reference).inspect()).Config.Labels;
    expect(labels?.["org.example.team"]).toBe("data");
    expect(labels?.["io.prefect.version"]).toBe(PREFECT_VERSION);
  });

  it("generates the auto Dockerfile for the context, not the current directory", async () => {
    const { name } = uniqueRepository("deploy-image");
    const elsewhere = await flowFolder("elsewhere", {
      Dockerfile: "FROM scratch\n",
      "requirements.txt": "from-cwd\n",
    });
    const flows = await flowFolder("the-flows", { "requirements.txt": "from-context\n" });
    const image = new DockerImage(name, {
      baseImage: base,
      context: flows,
      streamProgressTo: null,
    });
    await inChdir(elsewhere, () => image.build());
    expect((await docker.getImage(image.reference).inspect()).Config.WorkingDir).toBe(
      "/opt/prefect/the-flows/",
    );
    expect(await runImageWith(image.reference, ["cat", "/opt/uv-installed.txt"])).toBe(
      "from-context\n",
    );
    expect((await readdir(elsewhere)).sort()).toEqual([
      "Dockerfile",
      "flow.py",
      "requirements.txt",
    ]);
    expect((await readdir(flows)).sort()).toEqual(["flow.py", "requirements.txt"]);
  });

  it("refuses auto when the context has a Dockerfile, and leaves it alone", async () => {
    const folder = await flowFolder("flows", { Dockerfile: "FROM scratch\n" });
    const image = new DockerImage(localName(), {
      baseImage: base,
      context: folder,
      streamProgressTo: null,
    });
    const error = await image.build().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(
      /^Failed to generate Dockerfile\. Dockerfile already exists in /,
    );
    expect(await readFile(path.join(folder, "Dockerfile"), "utf8")).toBe("FROM scratch\n");
  });

  it("leaves no Dockerfile behind when the build fails", async () => {
    const folder = await flowFolder("flows", { "requirements.txt": "# fail\n" });
    const before = await autoFolders();
    const image = new DockerImage(localName(), {
      baseImage: base,
      context: folder,
      streamProgressTo: null,
    });
    const error = await image.build().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).message).toMatch(runFailed(1));
    expect((await readdir(folder)).sort()).toEqual(["flow.py", "requirements.txt"]);
    expect(await autoFolders()).toEqual(before);
  });

  it("leaves no Dockerfile behind when the build is aborted", async () => {
    const folder = await flowFolder("flows", { "requirements.txt": "# sleep 30\n" });
    const before = await autoFolders();
    const controller = new AbortController();
    const image = new DockerImage(localName(), {
      baseImage: base,
      context: folder,
      streamProgressTo: null,
      onProgress: (event) => {
        if (event.type === "step" && event.instruction.startsWith("RUN")) controller.abort();
      },
    });
    const started = performance.now();
    const error = await image.build({ signal: controller.signal }).catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    expect(performance.now() - started).toBeLessThan(25_000);
    expect((await readdir(folder)).sort()).toEqual(["flow.py", "requirements.txt"]);
    expect(await autoFolders()).toEqual(before);
  });

  it("leaves nothing in the user's folder when the process is killed mid-build", async () => {
    const folder = await flowFolder("flows", { "requirements.txt": "# sleep 30\n" });
    const script = path.join(await tempDir("pdu-deploy-child-"), "child.mts");
    const index = path.resolve(import.meta.dirname, "../../../src/index.ts");
    await writeFile(
      script,
      `import { DockerImage } from ${JSON.stringify(index)};
const image = new DockerImage(${JSON.stringify(localName())}, {
  baseImage: ${JSON.stringify(base)},
  context: ${JSON.stringify(folder)},
  streamProgressTo: null,
  onProgress: (event) => {
    if (event.type === "step" && event.instruction.startsWith("RUN")) console.log("RUNNING");
  },
});
await image.build();
`,
    );
    const before = await autoFolders();
    // Node itself with tsx's loader, not the tsx wrapper (which would outlive a SIGKILL's target).
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: path.resolve(import.meta.dirname, "../../.."),
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("RUNNING")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`the child exited early (${code})`)));
    });
    child.kill("SIGKILL");
    const [, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.once("exit", (code, signal) => resolve([code, signal])),
    );
    expect(signal).toBe("SIGKILL");
    expect((await readdir(folder)).sort()).toEqual(["flow.py", "requirements.txt"]);
    // What a killed process cannot clean up is its private temporary folder, never the user's.
    const left = (await autoFolders()).filter((name) => !before.includes(name));
    expect(left).toHaveLength(1);
    expect(await readdir(path.join(tmpdir(), left[0] as string))).toEqual(["Dockerfile"]);
    await rm(path.join(tmpdir(), left[0] as string), { recursive: true, force: true });
  });
});

/** Runs `command` in `image` without network and resolves to its stdout. */
async function runImageWith(image: string, command: string[]): Promise<string> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: command,
    HostConfig: { NetworkMode: "none" },
  });
  try {
    await container.start();
    await container.wait();
    const logs = await container.logs({ stdout: true, stderr: false });
    return demux(logs as unknown as Buffer);
  } finally {
    await container.remove({ force: true });
  }
}

/** The stdout frames of a non-TTY container log. */
function demux(buffer: Buffer): string {
  let text = "";
  for (let offset = 0; offset + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(offset + 4);
    if (buffer[offset] === 1) text += buffer.subarray(offset + 8, offset + 8 + size).toString();
    offset += 8 + size;
  }
  return text;
}
