// ImageBuilder's path rules against the real engine: nothing from outside baseDirectory reaches an
// image, paths cannot inject Dockerfile lines, copy(".") carries only the base directory, and
// builds fail early and clearly where they cannot work.
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BuildError,
  buildImage,
  DockerUtilsError,
  ImageBuilder,
  InvalidArgumentError,
  type ProgressEvent,
} from "../../../src/index.js";
import { tempDir, tree } from "../../support/files.js";
import { FaultProxy } from "../fault-proxy.js";
import { contexts, ENGINE_SOCKET, runImage, uniqueTag } from "../support.js";

/** A base directory whose top holds links to the host's /etc and to a secret outside it. */
async function baseWithHostLinks(): Promise<{ base: string; secret: string; secretPath: string }> {
  const root = await tempDir();
  const secret = `host-secret-${randomUUID()}`;
  const secretPath = path.join(root, "outside", "secret.txt");
  // hello.txt is unique per run: the classic builder's COPY cache ignores symlink targets, so an
  // earlier run's links (to another temporary folder) would otherwise come back from the cache.
  await tree(root, {
    "base/hello.txt": `hello-${randomUUID()}\n`,
    "outside/secret.txt": `${secret}\n`,
  });
  const base = path.join(root, "base");
  await symlink("/etc", path.join(base, "link-etc"));
  await symlink(secretPath, path.join(base, "link-secret"));
  return { base, secret, secretPath };
}

describe("ImageBuilder sends nothing from outside baseDirectory", () => {
  it("sends top-level symlinks of copy('.') as links, not the host's /etc or secrets", async () => {
    const { base, secret, secretPath } = await baseWithHostLinks();
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
      image.copy(".", "/app");
      image.addLine(
        `ENTRYPOINT ["/bin/sh", "-c", "ls -A /app; readlink /app/link-etc; readlink /app/link-secret; test -L /app/link-etc && echo etc-is-a-link; cat /app/link-secret 2>&1; true"]`,
      );
      imageId = await image.build();
    }
    const output = await runImage(imageId);
    expect(output).not.toContain(secret);
    expect(output.split("\n").slice(0, 6)).toEqual([
      "hello.txt",
      "link-etc",
      "link-secret",
      "/etc",
      secretPath,
      "etc-is-a-link",
    ]);
  });

  it("sends a copy() source that is itself a symlink as the link, as the docker CLI does", async () => {
    const { base, secret } = await baseWithHostLinks();
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.copy("link-secret", "/s");
    image.addLine('ENTRYPOINT ["/bin/cat", "/s"]');
    // The link's target is not in the context, so COPY fails exactly as `docker build` does.
    const error = await image.build().then(
      async (imageId) => `built, and the image holds: ${await runImage(imageId)}`,
      (e: unknown) => e,
    );
    expect(String(error)).not.toContain(secret);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).message).toMatch(/COPY failed: .*link-secret/);
  });

  it("refuses copy() through a symlink that leaves baseDirectory", async () => {
    const { base } = await baseWithHostLinks();
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    expect(() => image.copy("link-etc/passwd", "/passwd")).toThrow(InvalidArgumentError);
    expect(() => image.copy(path.join(base, "link-etc", "passwd"), "/passwd")).toThrow(
      InvalidArgumentError,
    );
  });

  it("refuses at build() a folder swapped for a symlink out of baseDirectory after copy()", async () => {
    const { base, secret, secretPath } = await baseWithHostLinks();
    await tree(base, { "conf/app.txt": "app\n" });
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.copy("conf/app.txt", "/app.txt");
    // Between copy() and build(), conf/ becomes a link to the folder holding the secret.
    await rm(path.join(base, "conf"), { recursive: true });
    await symlink(path.dirname(secretPath), path.join(base, "conf"));
    await writeFile(path.join(path.dirname(secretPath), "app.txt"), `${secret}\n`);
    const error = await image.build().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerUtilsError);
    expect(String(error)).not.toContain(secret);
    expect(String(error)).toContain("conf");
  });
});

describe("ImageBuilder paths in the Dockerfile", () => {
  it("runs no RUN injected through a copy() or writeText() destination", async () => {
    const base = await tempDir();
    await tree(base, { f: "f\n" });
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    expect(() => image.copy("f", "/x\nRUN echo INJECTED > /injected")).toThrow(
      InvalidArgumentError,
    );
    expect(() => image.writeText("t", "/t\nRUN echo INJECTED > /injected")).toThrow(
      InvalidArgumentError,
    );
    image.addLine('ENTRYPOINT ["/bin/sh", "-c", "cat /injected 2>/dev/null || echo clean"]');
    expect(await runImage(await image.build())).toBe("clean\n");
  });

  it("copies paths with spaces, quotes, $ and backslashes to exactly where they were meant", async () => {
    const base = await tempDir();
    const odd = `it's a "$HOME" \\ file.txt`;
    await tree(base, { "my file.txt": "spaces\n", [odd]: "odd\n" });
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
      image.copy("my file.txt", "/x y/my file.txt");
      image.copy(odd, `/odd/${odd}`);
      image.writeText("text\n", "/t $u.txt");
      image.addLine(
        `ENTRYPOINT ["/bin/sh", "-c", "cat '/x y/my file.txt' /odd/* '/t $u.txt'; ls /odd"]`,
      );
      imageId = await image.build();
    }
    expect(await runImage(imageId)).toBe(`spaces\nodd\ntext\n${odd}\n`);
  });
});

describe("copy('.')", () => {
  it("puts only the base directory's files at the destination, and writeText files at theirs", async () => {
    const base = await tempDir();
    await tree(base, { "flow.py": "print('hi')\n", "lib/util.py": "", ".env": "A=1\n" });
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
      image.copy(".", "/opt/prefect/flows/");
      image.writeText("PREFECT_LOGGING_LEVEL=DEBUG\n", "/opt/prefect/.env");
      image.addLine(
        'ENTRYPOINT ["/bin/sh", "-c", "ls -A /opt/prefect/flows; echo ---; cat /opt/prefect/.env"]',
      );
      imageId = await image.build();
    }
    expect(await runImage(imageId)).toBe(".env\nflow.py\nlib\n---\nPREFECT_LOGGING_LEVEL=DEBUG\n");
  });

  it("sends the base directory's own Dockerfile and .dockerignore as ordinary files", async () => {
    const base = await tempDir();
    await tree(base, { Dockerfile: "FROM scratch\n", ".dockerignore": "*.py\n", "a.py": "" });
    const listing = async (options: { applyDockerignore?: boolean }) => {
      await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
      image.copy(".", "/app", options);
      image.addLine('ENTRYPOINT ["/bin/ls", "-A", "/app"]');
      return runImage(await image.build());
    };
    // The folder's .dockerignore applies to what copy() sends, as to `docker build` of it; the
    // builder's own Dockerfile is sent apart, so the folder's is copied like any file.
    expect(await listing({})).toBe(".dockerignore\nDockerfile\n");
    expect(await listing({ applyDockerignore: false })).toBe(".dockerignore\nDockerfile\na.py\n");
  });
});

describe("ImageBuilder with a given context", () => {
  it("sends copy() sources from another baseDirectory, as with a temporary context", async () => {
    const context = await tempDir();
    await tree(context, { "in-context.txt": "context\n" });
    const base = await tempDir();
    await tree(base, { "from-base.txt": "base\n", "dir/inner.txt": "inner\n" });
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox", {
        context,
        baseDirectory: base,
      }).open();
      image.copy("from-base.txt", "/from-base.txt");
      image.copy("dir", "/dir");
      image.writeText("text\n", "/text.txt");
      image.addLine("COPY in-context.txt /in-context.txt");
      image.addLine(
        'ENTRYPOINT ["/bin/cat", "/from-base.txt", "/dir/inner.txt", "/text.txt", "/in-context.txt"]',
      );
      imageId = await image.build();
    }
    expect(await runImage(imageId)).toBe("base\ninner\ntext\ncontext\n");
    expect(await readdir(context)).toEqual(["in-context.txt"]);
  });
});

describe("ImageBuilder builds", () => {
  it("runs two builds of one builder at the same time", async () => {
    await using image = await new ImageBuilder("busybox").open();
    image.writeText("concurrent\n", "/c.txt");
    image.addLine('ENTRYPOINT ["/bin/cat", "/c.txt"]');
    const [first, second] = await Promise.all([image.build(), image.build()]);
    expect(await runImage(first)).toBe("concurrent\n");
    expect(await runImage(second)).toBe("concurrent\n");
  });

  it("names the copy() source, not internal names, when a copied file vanished before build()", async () => {
    const base = await tempDir();
    await tree(base, { "gone.txt": "x" });
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.copy("gone.txt", "/gone.txt");
    await rm(path.join(base, "gone.txt"));
    const error = (await image.build().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(DockerUtilsError);
    expect(error.message).toContain('"gone.txt"');
    expect(error.message).not.toMatch(/overlays|hostPath/);
  });
});

describe("buildImage fails early where it cannot work", () => {
  it("rejects an upper-case tag on the client, before any request, without retrying", async () => {
    await using proxy = await FaultProxy.start({ socketPath: ENGINE_SOCKET });
    const events: ProgressEvent[] = [];
    const error = await buildImage(path.join(contexts, "tiny"), {
      tag: "localhost/PDU-Upper:1",
      env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` },
      onProgress: (event) => events.push(event),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('"localhost/PDU-Upper:1"');
    expect(events).toEqual([]);
    expect(proxy.bytesToTarget).toBe(0);
  });

  // Waits for the context branch: createBuildContext checks the Dockerfile before sending.
  it("names the full path of a missing Dockerfile, before uploading the context, without retrying", async () => {
    const context = await tempDir();
    await tree(context, { Dockerfile: "FROM busybox\n" });
    await writeFile(path.join(context, "big.bin"), Buffer.alloc(4 * 1024 * 1024, 1));
    await using proxy = await FaultProxy.start({ socketPath: ENGINE_SOCKET });
    const events: ProgressEvent[] = [];
    const error = await buildImage(context, {
      dockerfile: "Nowhere",
      env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` },
      onProgress: (event) => events.push(event),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerUtilsError);
    expect((error as Error).message).toContain(path.join(context, "Nowhere"));
    expect(events.filter((event) => event.type === "retry")).toEqual([]);
    expect(proxy.bytesToTarget).toBeLessThan(64 * 1024);
  });

  it("still builds and tags with a valid tag", async () => {
    const tag = uniqueTag();
    const imageId = await buildImage(path.join(contexts, "tiny"), { tag });
    expect(await runImage(tag)).toBe(await runImage(imageId));
  });
});

describe("generateDefaultDockerfile lines on the engine", () => {
  it("are read by the real parser and shell as one path for a folder with spaces and quotes", async () => {
    const { generateDefaultDockerfile } = await import("../../../src/index.js");
    const folder = path.join(await tempDir(), `it's my $flows`);
    await mkdir(folder);
    // Unique content, so the engine's cache cannot answer the RUN from an earlier run.
    const reqs = `reqs-${randomUUID()}`;
    await tree(folder, { "requirements.txt": `${reqs}\n`, "flow.py": "flow\n" });
    let lines: string[];
    {
      await using generated = await generateDefaultDockerfile(folder);
      const { readFile } = await import("node:fs/promises");
      lines = (await readFile(generated.path, "utf8")).trimEnd().split("\n");
    }
    // The Prefect base image is not reachable here: the same lines on busybox, `cat` for `uv`.
    const dockerfile = [
      "FROM busybox",
      ...lines.slice(1).map((line) => line.replace("uv pip install -r", "cat")),
      'ENTRYPOINT ["/bin/sh", "-c", "pwd; ls"]',
    ].join("\n");
    await writeFile(path.join(folder, "Dockerfile.test"), `${dockerfile}\n`);
    const output = new (await import("../support.js")).StringStream();
    const imageId = await buildImage(folder, {
      dockerfile: "Dockerfile.test",
      streamProgressTo: output,
    });
    expect(output.getValue()).toContain(reqs);
    expect(await runImage(imageId)).toBe(
      `/opt/prefect/it's my $flows\nDockerfile.test\nflow.py\nrequirements.txt\n`,
    );
  });
});
