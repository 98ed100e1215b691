// `prefect-dockerutils build` and `push` as a child process, against the real engine and registry.
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { buildImage, resolvePrefectImageName } from "../../../src/index.js";
import {
  CONTROL_CHARACTERS,
  connectionProbe,
  contextWith,
  dockerfileLines,
  filesIn,
  imageExists,
  registryDigest,
  removeImageAfterTest,
  runBin,
  startBin,
  uniqueName,
  until,
} from "../cli-run.js";
import { docker, IMAGE_ID_PATTERN, removeOwnImage, runImage, testRepository } from "../support.js";

const REGISTRY_URL = "http://127.0.0.1:5555";

/** A context whose image prints `text`. */
async function helloContext(text = "hello from the cli"): Promise<string> {
  return contextWith({
    Dockerfile: dockerfileLines(
      "FROM busybox",
      "COPY hello.txt /hello.txt",
      'CMD ["cat", "/hello.txt"]',
    ),
    "hello.txt": `${text}\n`,
  });
}

describe("prefect-dockerutils build (classic builder)", () => {
  it("builds a context, prints the image ID on stdout and progress on stderr", async () => {
    const context = await helloContext();
    const result = await runBin(["build", "--progress", "plain", context]);
    expect(result.code).toBe(0);
    const imageId = result.stdout.trim();
    removeImageAfterTest(imageId);
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect(result.stdout).toBe(`${imageId}\n`);
    expect(await runImage(imageId)).toBe("hello from the cli\n");
    expect(result.stderr).toContain("Step 3/5 : COPY hello.txt /hello.txt");
    expect(result.stderr).toContain(`writing image ${imageId}`);
    expect(result.stderr).toMatch(/build finished in \d+\.\ds\n$/);
  });

  it("builds from the current folder by default and reads -f from the current folder", async () => {
    const context = await contextWith({
      "docker/Custom.dockerfile": dockerfileLines("FROM busybox", 'CMD ["echo", "custom file"]'),
    });
    const result = await runBin(["build", "-q", "-f", "docker/Custom.dockerfile"], {
      cwd: context,
    });
    expect(result.code).toBe(0);
    const imageId = result.stdout.trim();
    removeImageAfterTest(imageId);
    expect(await runImage(imageId)).toBe("custom file\n");
  });

  it("gives the image every -t name", async () => {
    const context = await helloContext();
    const name = uniqueName();
    const result = await runBin([
      "build",
      "-q",
      "-t",
      `${name}:one`,
      "-t",
      `${name}:two`,
      "-t",
      name,
      context,
    ]);
    expect(result.code).toBe(0);
    const imageId = result.stdout.trim();
    removeImageAfterTest(imageId);
    const tags = (await docker.getImage(imageId).inspect()).RepoTags;
    expect([...tags].sort()).toEqual([`${name}:latest`, `${name}:one`, `${name}:two`]);
  });

  it("prints only the image ID with --quiet", async () => {
    const context = await helloContext();
    const result = await runBin(["build", "--quiet", context]);
    expect(result.code).toBe(0);
    removeImageAfterTest(result.stdout.trim());
    expect(result.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(result.stderr).toBe("");
  });

  it("passes --build-arg, --target and --network to the build", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines(
        "FROM busybox AS first",
        "ARG GREETING",
        "ARG FROM_ENV",
        'RUN echo "$GREETING $FROM_ENV" > /greeting && (ip link 2>/dev/null | grep -c "^[0-9]" > /links || true)',
        "FROM busybox AS second",
        'RUN echo "never built" > /greeting',
      ),
    });
    const result = await runBin(
      [
        "build",
        "-q",
        "--build-arg",
        "GREETING=hello",
        "--build-arg",
        "FROM_ENV",
        "--target",
        "first",
        "--network",
        "none",
        context,
      ],
      { env: { FROM_ENV: "from-env" } },
    );
    expect(result.code).toBe(0);
    const imageId = result.stdout.trim();
    removeImageAfterTest(imageId);
    expect(await runImageWith(imageId, ["cat", "/greeting"])).toBe("hello from-env\n");
    // --network none leaves a RUN step the loopback interface alone.
    expect(await runImageWith(imageId, ["cat", "/links"])).toBe("1\n");
  });

  it("exits 1 with the engine's message, the failing step and the log tail when a RUN fails", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines("FROM busybox", "RUN echo about to fail && exit 3"),
    });
    const result = await runBin(["build", "--progress", "plain", "--network", "none", context]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      "ERROR: The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3",
    );
    expect(result.stderr).toContain("failing step: Step 3/4 : RUN echo about to fail && exit 3");
    expect(result.stderr).toMatch(/log tail:\n(?: {2}\| .*\n)*? {2}\| about to fail\n/);
    expect(result.stderr).toContain("(ERR_DOCKER_BUILD)");
    expect(result.stderr).toContain("build failed after");
  });

  it("exits 1 with the engine's message for a Dockerfile it cannot parse", async () => {
    const context = await contextWith({ Dockerfile: "FROM busybox\nFROBNICATE now\n" });
    const result = await runBin(["build", context]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ERROR: .*unknown instruction: FROBNICATE/i);
  });

  it("builds with -f auto in the Dockerfile Prefect generates, and removes it afterwards", async () => {
    await prefectBaseStandIn();
    const context = await contextWith({ "flow.py": "print('hi')\n" });
    const result = await runBin(["build", "-q", "-f", "auto", context]);
    expect(result.code).toBe(0);
    const imageId = result.stdout.trim();
    removeImageAfterTest(imageId);
    // COPY . takes the generated Dockerfile along, as in Prefect.
    expect(await runImageWith(imageId, ["ls", `/opt/prefect/${path.basename(context)}/`])).toBe(
      "Dockerfile\nflow.py\n",
    );
    expect(await filesIn(context)).toEqual(["flow.py"]);
  });

  it("removes the generated Dockerfile also when the build fails", async () => {
    await prefectBaseStandIn();
    // The stand-in base image has no uv, so the generated `RUN uv pip install` fails.
    const context = await contextWith({
      "flow.py": "print('hi')\n",
      "requirements.txt": "httpx\n",
    });
    const result = await runBin(["build", "-f", "auto", "--network", "none", context]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /ERROR: The command .*uv pip install .* returned a non-zero code/,
    );
    expect(await filesIn(context)).toEqual(["flow.py", "requirements.txt"]);
  });

  it("removes the generated Dockerfile when SIGINT cancels the build", async () => {
    const probe = await connectionProbe();
    // A stand-in whose `uv` holds the generated RUN open until the step is killed.
    const standIn = await contextWith({
      Dockerfile: dockerfileLines(
        "FROM busybox",
        `RUN printf '#!/bin/sh\\nsleep 600 | nc 127.0.0.1 ${probe.port}\\n' > /bin/uv && chmod +x /bin/uv`,
      ),
    });
    const made = await runBin(["build", "-q", "--network", "none", standIn]);
    expect(made.code).toBe(0);
    const standInId = made.stdout.trim();
    removeImageAfterTest(standInId);
    await prefectBaseStandIn(standInId);
    const context = await contextWith({
      "flow.py": "print('hi')\n",
      "requirements.txt": "httpx\n",
    });
    const bin = startBin([
      "build",
      "-f",
      "auto",
      "--progress",
      "plain",
      "--network",
      "host",
      context,
    ]);
    await until("the generated RUN to connect", () => probe.connected());
    expect(await filesIn(context)).toEqual(["Dockerfile", "flow.py", "requirements.txt"]);
    bin.child.kill("SIGINT");
    const result = await bin.done;
    expect(result.code).toBe(130);
    expect(await filesIn(context)).toEqual(["flow.py", "requirements.txt"]);
    await until("the RUN to be killed", () => probe.closed(), 30_000);
  });

  it("refuses -f auto where a Dockerfile exists (exit 2, a bad value: no usage), and leaves it as it was", async () => {
    const context = await helloContext();
    const result = await runBin(["build", "-f", "auto", context]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Dockerfile already exists");
    expect(result.stderr).not.toContain("Usage:");
    expect(await filesIn(context)).toEqual(["Dockerfile", "hello.txt"]);
  });

  it("writes plain progress without any control character, also for RUN output full of them", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines(
        "FROM busybox",
        String.raw`RUN printf '\033[31mred\033[0m\ttab\rcarriage\n\007bell\n'`,
      ),
    });
    const result = await runBin(["build", "--progress", "plain", "--network", "none", context], {
      env: { FORCE_COLOR: "1" },
    });
    expect(result.code).toBe(0);
    removeImageAfterTest(result.stdout.trim());
    expect(result.stderr).not.toMatch(CONTROL_CHARACTERS);
    expect(result.stderr).toContain("\ncarriage\n");
    expect(result.stderr).toContain("\nbell\n");
  });

  it("shows plain progress when stderr is no terminal and --progress is auto", async () => {
    const context = await helloContext();
    const result = await runBin(["build", context]);
    expect(result.code).toBe(0);
    removeImageAfterTest(result.stdout.trim());
    expect(result.stderr).toContain("Step 1/5 : FROM busybox");
    expect(result.stderr).not.toMatch(CONTROL_CHARACTERS);
  });

  it("writes every progress event as a JSON line with --progress json", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines("FROM busybox", "RUN echo json output"),
    });
    const result = await runBin(["build", "--progress", "json", "--network", "none", context]);
    expect(result.code).toBe(0);
    const imageId = result.stdout.trim();
    removeImageAfterTest(imageId);
    const events = result.stderr
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; [key: string]: unknown });
    expect(events.filter((event) => event.type === "step").map((event) => event.step)).toEqual([
      1, 2, 3, 4,
    ]);
    expect(events).toContainEqual({ type: "image-id", imageId });
    expect(events.some((event) => event.type === "output" && event.text === "json output\n")).toBe(
      true,
    );
  });

  it("reports a failure as a JSON line with --progress json", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines("FROM busybox", "RUN exit 4"),
    });
    const result = await runBin(["build", "--progress", "json", "--network", "none", context]);
    expect(result.code).toBe(1);
    const last = JSON.parse(result.stderr.trimEnd().split("\n").at(-1) ?? "") as {
      type: string;
      lines: string[];
    };
    expect(last.type).toBe("error");
    expect(last.lines[0]).toMatch(/^ERROR: The command .* returned a non-zero code: 4$/);
  });
});

describe("prefect-dockerutils build --push and push", () => {
  it("pushes after building and prints the pushed reference", async () => {
    const context = await helloContext("pushed by the cli");
    const name = uniqueName();
    const repository = name.slice("localhost/".length);
    const result = await runBin([
      "build",
      "-q",
      "-t",
      `${name}:v1`,
      "--push",
      REGISTRY_URL,
      context,
    ]);
    expect(result.code).toBe(0);
    const [imageId, reference] = result.stdout.trimEnd().split("\n");
    removeImageAfterTest(imageId ?? "");
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect(reference).toBe(`127.0.0.1:5555/${repository}:v1`);
    expect(await registryDigest(repository, "v1")).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Prefect's push removes its registry tag again; the -t name stays.
    expect(await imageExists(reference ?? "")).toBe(false);
    expect(await imageExists(`${name}:v1`)).toBe(true);
  });

  it("pushes an image with push IMAGE REGISTRY_URL NAME --tag and shows the layers", async () => {
    const context = await helloContext("pushed alone");
    const built = await runBin(["build", "-q", context]);
    const imageId = built.stdout.trim();
    removeImageAfterTest(imageId);
    const repository = testRepository("cli-push");
    const result = await runBin([
      "push",
      "--progress",
      "plain",
      imageId,
      REGISTRY_URL,
      repository,
      "--tag",
      "t1",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`127.0.0.1:5555/${repository}:t1\n`);
    expect(result.stderr).toMatch(/^[0-9a-f]{12}: (Pushed|Layer already exists|Mounted from .*)$/m);
    expect(result.stderr).toMatch(/^t1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    expect(result.stderr).not.toMatch(CONTROL_CHARACTERS);
    expect(await registryDigest(repository, "t1")).toMatch(/^sha256:/);
    // The registry tag was the image's only name: it stays, so the image is not deleted.
    expect((await docker.getImage(imageId).inspect()).RepoTags).toEqual([
      `127.0.0.1:5555/${repository}:t1`,
    ]);
  });

  it("exits 1 with the engine's message when the registry cannot be reached, and keeps the image", async () => {
    const context = await helloContext("nowhere to go");
    const built = await runBin(["build", "-q", context]);
    const imageId = built.stdout.trim();
    removeImageAfterTest(imageId);
    // Nothing listens on port 9 (discard) of the loopback interface. A repository of the test's
    // own: the tag stays on the image afterwards.
    const repository = testRepository("cli-unreachable");
    const result = await runBin(["push", imageId, "http://127.0.0.1:9", repository, "--tag", "x"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/ERROR: .*(connection refused|connect)/i);
    expect(result.stderr).toContain("(ERR_DOCKER_PUSH)");
    // The tag it pushed under is the image's only name, so it stays: the image is not deleted.
    expect((await docker.getImage(imageId).inspect()).RepoTags).toEqual([
      `127.0.0.1:9/${repository}:x`,
    ]);
  });

  it("exits 1 for an image the engine does not have", async () => {
    const result = await runBin(["push", "localhost/pdu-cli-no-such-image:1", REGISTRY_URL, "x"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ERROR: .*No such image/i);
  });
});

/**
 * Prefect's base image cannot be pulled here (no Docker Hub): `image` stands in for it under its
 * name, for builds of the Dockerfile Prefect generates; the name is removed when the test
 * finishes. Only this file does this, and its tests run one after the other. By default the
 * stand-in is busybox with the run's label (dockerfileLines), which every image built on it
 * inherits: the global teardown then removes those too, even the layers of a build that failed.
 */
async function prefectBaseStandIn(image?: string): Promise<void> {
  if (image === undefined) {
    image = await buildImage(await contextWith({ Dockerfile: dockerfileLines("FROM busybox") }));
  }
  const base = await resolvePrefectImageName();
  const colon = base.lastIndexOf(":");
  await docker.getImage(image).tag({ repo: base.slice(0, colon), tag: base.slice(colon + 1) });
  onTestFinished(() => removeOwnImage(base));
}

/** Runs `cmd` in the image without network and gives its stdout. */
async function runImageWith(image: string, cmd: string[]): Promise<string> {
  const tagless = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    HostConfig: { NetworkMode: "none" },
  });
  try {
    await tagless.start();
    await tagless.wait();
    const logs = await tagless.logs({ stdout: true, stderr: false });
    // Non-TTY logs are multiplexed: 8-byte frame headers before each chunk.
    const chunks: Buffer[] = [];
    let offset = 0;
    while (offset + 8 <= logs.length) {
      const size = logs.readUInt32BE(offset + 4);
      chunks.push(logs.subarray(offset + 8, offset + 8 + size));
      offset += 8 + size;
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    await tagless.remove({ force: true });
  }
}
