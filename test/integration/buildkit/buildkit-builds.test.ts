// BuildKit builds on the real engine (Debian docker.io 20.10, no bridge network): the builder
// choice, RUN mounts, progress, the same context as the classic builder, and the errors.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BuildError,
  buildImage,
  IMAGE_LABELS,
  ImageBuilder,
  InvalidArgumentError,
  type ProgressEvent,
} from "../../../src/index.js";
import { bust, contextWith, recorder, removeCacheMountAtTeardown } from "../buildkit-helpers.js";
import { runNamespace } from "../registries.js";
import {
  contexts,
  docker,
  IMAGE_ID_PATTERN,
  runImage,
  StringStream,
  TEST_RUN,
  uniqueTag,
} from "../support.js";

const buildkit = { builder: "buildkit", networkMode: "none" } as const;

describe("BuildKit builds", () => {
  it("builds and tags the tiny image, with the library's labels", async () => {
    const tag = uniqueTag("localhost/pdu-buildkit");
    const events = recorder();
    const imageId = await buildImage(path.join(contexts, "tiny"), {
      ...buildkit,
      tag,
      onProgress: events.onProgress,
    });
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    const image = await docker.getImage(tag).inspect();
    expect(image.Id).toBe(imageId);
    expect(image.Config.Labels?.["io.prefect.version"]).toMatch(/^\d+\.\d+\.\d+/);
    expect(await runImage(imageId)).toBe("Can't bear oceans.\n");
    expect(events.events.filter((event) => event.type === "image-id")).toEqual([
      { type: "image-id", imageId },
    ]);
  });

  it("uses BuildKit when DOCKER_BUILDKIT=1, and the option wins over it", async () => {
    const dir = await contextWith({ Dockerfile: "FROM busybox:latest\nRUN echo selected\n" });
    const withEnv = recorder();
    await buildImage(dir, {
      networkMode: "none",
      noCache: true,
      env: { ...process.env, DOCKER_BUILDKIT: "1" },
      onProgress: withEnv.onProgress,
    });
    expect(withEnv.events.some((event) => event.type === "vertex")).toBe(true);
    const classic = recorder();
    await buildImage(dir, {
      builder: "classic",
      networkMode: "none",
      noCache: true,
      env: { ...process.env, DOCKER_BUILDKIT: "1" },
      onProgress: classic.onProgress,
    });
    expect(classic.events.some((event) => event.type === "vertex")).toBe(false);
    expect(classic.events.some((event) => event.type === "step")).toBe(true);
  });

  it("keeps a cache mount between builds", async () => {
    const id = `pdu-bk-${bust()}`;
    // The mount's target names the run (BuildKit describes the mount by it): the teardown
    // prunes this one, and its leak check fails on any other mount naming the run.
    const target = `/cache/${runNamespace(TEST_RUN)}-${randomUUID()}`;
    await removeCacheMountAtTeardown(target);
    const dir = await contextWith({
      Dockerfile: `FROM busybox:latest\nARG BUST\nRUN --mount=type=cache,id=${id},target=${target} echo "$BUST" >> ${target}/runs && wc -l < ${target}/runs\n`,
    });
    const counts: string[] = [];
    for (let round = 0; round < 2; round++) {
      const events = recorder();
      await buildImage(dir, {
        ...buildkit,
        buildArgs: { BUST: bust() },
        onProgress: events.onProgress,
      });
      counts.push(events.output().trim());
    }
    expect(counts).toEqual(["1", "2"]);
  });

  it("mounts context files with RUN --mount=type=bind", async () => {
    const dir = await contextWith({
      Dockerfile:
        "FROM busybox:latest\nRUN --mount=type=bind,source=data,target=/data cat /data/a.txt > /copied\n",
      "data/a.txt": "bound\n",
    });
    const imageId = await buildImage(dir, { ...buildkit, noCache: true });
    expect(await runImage(imageId, ["cat", "/copied"])).toBe("bound\n");
    expect(await runImage(imageId, ["ls", "/data"])).toBe("");
  });

  it("writes docker build --progress=plain text and typed events", async () => {
    const dir = await contextWith({
      Dockerfile:
        "FROM busybox:latest\nARG BUST\nRUN echo out-$BUST && echo err >&2\nCOPY a.txt /a.txt\n",
      "a.txt": "a\n",
    });
    const text = new StringStream();
    const events = recorder();
    const value = bust();
    await buildImage(dir, {
      ...buildkit,
      buildArgs: { BUST: value },
      streamProgressTo: text,
      onProgress: events.onProgress,
    });
    const output = text.getValue();
    // Numbered by first appearance, as the CLI numbers them; the engine sends the Dockerfile's and
    // the .dockerignore's vertices in either order.
    expect(output).toMatch(/^#[12] \[internal\] load build definition from Dockerfile$/m);
    expect(output).toMatch(/^#\d+ sha256:[0-9a-f]{64}$/m);
    // BuildKit names the step with the build argument's value in place.
    const run = new RegExp(`^#(\\d+) \\[2/3\\] RUN echo out-${value} && echo err >&2$`, "m").exec(
      output,
    );
    expect(run).not.toBeNull();
    const number = run?.[1];
    expect(output).toMatch(new RegExp(`^#${number} \\d\\.\\d{3} out-${value}$`, "m"));
    expect(output).toMatch(new RegExp(`^#${number} \\d\\.\\d{3} err$`, "m"));
    expect(output).toMatch(new RegExp(`^#${number} DONE \\d+\\.\\ds$`, "m"));
    expect(output).toMatch(/^#\d+ CACHED$/m);
    // With its time when the engine took more than 10 ms to write it, as the CLI prints it.
    expect(output).toMatch(/^#\d+ writing image sha256:[0-9a-f]{64}( \d+\.\ds)? done$/m);
    const logs = events.events.filter(
      (event): event is Extract<ProgressEvent, { type: "vertex-log" }> =>
        event.type === "vertex-log",
    );
    // stdout and stderr are separate pipes: their order between them is not fixed.
    expect(logs.map((log) => [log.stream, log.text]).sort()).toEqual([
      [1, `out-${value}\n`],
      [2, "err\n"],
    ]);
    expect(logs[0]?.number).toBe(Number(number));
    const states = events.events
      .filter((event) => event.type === "vertex" && event.number === Number(number))
      .map((event) => (event.type === "vertex" ? event.state : ""));
    expect(states).toEqual(["started", "completed"]);
    expect(events.events.filter((event) => event.type === "image-id")).toHaveLength(1);
  });

  it("fails a RUN with BuildError carrying the step's name and last lines, without retrying", async () => {
    const dir = await contextWith({
      Dockerfile: "FROM busybox:latest\nARG BUST\nRUN echo first && echo last-$BUST && exit 3\n",
    });
    const events = recorder();
    const value = bust();
    const error = await buildImage(dir, {
      ...buildkit,
      buildArgs: { BUST: value },
      onProgress: events.onProgress,
      retryDelayMs: 10,
    }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BuildError);
    const failure = error as BuildError;
    expect(failure.message).toBe(
      "executor failed running [/bin/sh -c echo first && echo last-$BUST && exit 3]: exit code: 3",
    );
    expect(failure.step).toBe(`[2/2] RUN echo first && echo last-${value} && exit 3`);
    expect(failure.logTail).toEqual(["first", `last-${value}`]);
    expect(events.events.some((event) => event.type === "retry")).toBe(false);
  });

  it("says networkMode host or none is needed on an engine without a bridge network", async () => {
    const dir = await contextWith({ Dockerfile: "FROM busybox:latest\nARG BUST\nRUN true\n" });
    const error = await buildImage(dir, { builder: "buildkit", buildArgs: { BUST: bust() } }).catch(
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).toContain("network bridge not found");
    expect((error as Error).message).toContain('pass networkMode: "host" or "none"');
  });

  it("reports an HTTP refusal as BuildError, e.g. the bridge network mode", async () => {
    const dir = await contextWith({ Dockerfile: "FROM busybox:latest\n" });
    const error = await buildImage(dir, { builder: "buildkit", networkMode: "bridge" }).catch(
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).message).toBe('network mode "bridge" not supported by buildkit');
    expect((error as BuildError).statusCode).toBe(500);
  });

  it("refuses several platforms at once before anything is built", async () => {
    const dir = await contextWith({ Dockerfile: "FROM busybox:latest\n" });
    const error = await buildImage(dir, {
      ...buildkit,
      platform: "linux/amd64,linux/arm64",
    }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain("build each platform separately");
    // Nothing built: no image with this test's label (setup-run.ts). Counting all the engine's
    // images instead saw the builds of test files running beside this one.
    const label = `io.prefect-dockerutils.test-id=${IMAGE_LABELS["io.prefect-dockerutils.test-id"]}`;
    const filters = JSON.stringify({ label: [label] });
    expect(await docker.listImages({ all: true, filters })).toEqual([]);
  });

  it("refuses options this engine's BuildKit would silently ignore", async () => {
    const dir = await contextWith({ Dockerfile: "FROM busybox:latest\n" });
    for (const [options, message] of [
      [{ memory: 64 * 1024 * 1024 }, "memory (67108864) is not supported by BuildKit"],
      [{ shmSize: 64 * 1024 * 1024 }, "shmSize is ignored by the BuildKit of this engine"],
      [{ squash: true }, "squash is not supported by BuildKit"],
    ] as const) {
      const error = await buildImage(dir, { ...buildkit, ...options }).catch(
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain(message);
    }
  });

  it("builds a Dockerfile from outside the context, with its own .dockerignore", async () => {
    const dir = await contextWith({ "keep.txt": "keep\n", "drop.txt": "drop\n" });
    const elsewhere = await contextWith({
      "Build.df": "FROM busybox:latest\nCOPY . /ctx\n",
      "Build.df.dockerignore": "drop.txt\n",
    });
    const imageId = await buildImage(dir, {
      ...buildkit,
      noCache: true,
      dockerfile: path.join(elsewhere, "Build.df"),
    });
    expect((await runImage(imageId, ["ls", "/ctx"])).trim().split("\n")).toEqual(["keep.txt"]);
  });
});

/** What a COPY of the whole context put into the image: every path with its type and mode. */
async function listing(imageId: string): Promise<string[]> {
  const out = await runImage(imageId, [
    "sh",
    "-c",
    "cd /ctx && find . | sort | while read -r p; do stat -c '%A %n' \"$p\"; done",
  ]);
  return out.trim().split("\n");
}

describe("the same context as the classic builder", () => {
  it("applies .dockerignore exactly as the classic path does", async () => {
    const dir = await contextWith({
      Dockerfile: "FROM busybox:latest\nCOPY . /ctx\n",
      ".dockerignore":
        "*.log\n!keep.log\nbuild/\n**/secret*\nDockerfile\n.dockerignore\nnode_modules\n!node_modules/keep/\n",
      "a.log": "",
      "keep.log": "",
      "build/out.bin": "x",
      "src/secret.key": "s",
      "src/lib/main.js": "m",
      "src/lib/secretive/x": "x",
      "node_modules/drop/index.js": "",
      "node_modules/keep/index.js": "",
      "empty/": "",
    });
    const classic = await buildImage(dir, {
      builder: "classic",
      networkMode: "none",
      noCache: true,
    });
    const kit = await buildImage(dir, { ...buildkit, noCache: true });
    const expected = await listing(classic);
    expect(expected).toContain("-rw-r--r-- ./keep.log");
    expect(expected.some((line) => line.includes("secret"))).toBe(false);
    expect(await listing(kit)).toEqual(expected);
  });

  it("sends ImageBuilder.copy and writeText files as the classic path does, and leaves nothing behind", async () => {
    const base = await contextWith({
      "app/main.py": "print('hi')\n",
      "app/util/helpers.py": "x = 1\n",
      "requirements.txt": "requests\n",
    });
    const ids: Record<string, string> = {};
    let temporaryContexts: string[] = [];
    for (const builder of ["classic", "buildkit"] as const) {
      const before = (await readdir(tmpdir())).filter((name) =>
        name.startsWith("prefect-dockerutils-"),
      );
      const image = await new ImageBuilder("busybox:latest", { baseDirectory: base }).open();
      try {
        image.copy("app", "/ctx/app");
        image.copy("requirements.txt", "/ctx/requirements.txt");
        image.writeText("generated\n", "/ctx/generated.txt");
        ids[builder] = await image.build({ builder, networkMode: "none", noCache: true });
      } finally {
        await image.close();
      }
      const after = (await readdir(tmpdir())).filter((name) =>
        name.startsWith("prefect-dockerutils-"),
      );
      temporaryContexts = after.filter((name) => !before.includes(name));
    }
    expect(temporaryContexts).toEqual([]);
    expect(await listing(ids.buildkit as string)).toEqual(await listing(ids.classic as string));
    expect(await runImage(ids.buildkit as string, ["cat", "/ctx/generated.txt"])).toBe(
      "generated\n",
    );
  });

  it("removes the Dockerfile ImageBuilder writes into a given context", async () => {
    const context = await contextWith({ "a.txt": "a\n" });
    const image = new ImageBuilder("busybox:latest", { context });
    image.addLine("COPY a.txt /a.txt");
    const imageId = await image.build({ ...buildkit, noCache: true });
    expect(await runImage(imageId, ["cat", "/a.txt"])).toBe("a\n");
    expect(existsSync(path.join(context, "Dockerfile"))).toBe(false);
  });
});
