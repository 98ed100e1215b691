import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { chmod, link, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { extract } from "tar-stream";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import {
  type BuildContextOptions,
  createBuildContext,
} from "../../../src/build-context/build-context.js";
import { tempDir, tree } from "../../support/files.js";
import { docker, removeOwnImage } from "../support.js";

const LABELS = { "io.prefect-dockerutils.test-run": inject("testRun") };

interface ImageEntry {
  readonly type: string;
  readonly mode: number;
  readonly linkname: string | null;
  readonly data: string;
  readonly raw: Buffer;
}

/** Builds `dir` on the real engine with our context and returns the tag, removed afterwards. */
async function build(dir: string, options: BuildContextOptions = {}): Promise<string> {
  const tag = `localhost/pdu-test-ctx:${randomUUID()}`;
  onTestFinished(() => removeOwnImage(tag));
  const context = await createBuildContext(dir, options);
  const response = await docker.buildImage(context.stream, {
    t: tag,
    dockerfile: context.dockerfile,
    labels: LABELS,
    rm: true,
    forcerm: true,
  });
  const events = await new Promise<{ error?: string; stream?: string }[]>((resolve, reject) => {
    docker.modem.followProgress(response, (error: Error | null, output: unknown[]) =>
      error ? reject(error) : resolve(output as { error?: string }[]),
    );
  });
  const failure = events.find((event) => event.error !== undefined);
  if (failure !== undefined) {
    throw new Error(
      `build failed: ${failure.error}\n${events.map((e) => e.stream ?? "").join("")}`,
    );
  }
  return tag;
}

/** What `path` holds in the image, read from a created (never started) container. */
async function filesIn(image: string, root = "/ctx"): Promise<Map<string, ImageEntry>> {
  const container = await docker.createContainer({
    Image: image,
    Labels: LABELS,
    HostConfig: { NetworkMode: "none" },
  });
  try {
    const archive = (await container.getArchive({ path: root })) as unknown as Readable;
    const entries = new Map<string, ImageEntry>();
    const extractor = extract();
    await new Promise<void>((resolve, reject) => {
      extractor.on("entry", (header, body, next) => {
        const chunks: Buffer[] = [];
        body.on("data", (chunk: unknown) => {
          chunks.push(chunk as Buffer);
        });
        body.on("end", () => {
          const name = header.name.replace(/^[^/]+\/?/, "").replace(/\/$/, "");
          if (name !== "") {
            entries.set(name, {
              type: header.type ?? "file",
              // The engine's archive of a container carries the file type bits in the mode too.
              mode: (header.mode ?? 0) & 0o7777,
              linkname: header.linkname ?? null,
              data: Buffer.concat(chunks).toString("utf8"),
              raw: Buffer.concat(chunks),
            });
          }
          next();
        });
      });
      extractor.on("finish", resolve);
      extractor.on("error", reject);
      archive.on("error", reject);
      archive.pipe(extractor);
    });
    return entries;
  } finally {
    await container.remove({ force: true });
  }
}

const COPY_ALL = "FROM busybox\nCOPY . /ctx\n";

describe("build contexts on the real engine", () => {
  it("delivers modes, symlinks, hardlinks and empty folders as they are on disk", async () => {
    const dir = await tree(await tempDir(), {
      Dockerfile: COPY_ALL,
      "a.txt": "a",
      "sub/b.txt": "b",
      "empty/": "",
      "run.sh": "#!/bin/sh\n",
    });
    await chmod(path.join(dir, "run.sh"), 0o775);
    await chmod(path.join(dir, "sub"), 0o750);
    await symlink("sub/b.txt", path.join(dir, "link"));
    await link(path.join(dir, "sub/b.txt"), path.join(dir, "hard"));

    const files = await filesIn(await build(dir));
    expect([...files.keys()].sort()).toEqual(
      ["Dockerfile", "a.txt", "empty", "hard", "link", "run.sh", "sub", "sub/b.txt"].sort(),
    );
    expect(files.get("run.sh")).toMatchObject({ mode: 0o775, data: "#!/bin/sh\n" });
    expect(files.get("sub")).toMatchObject({ type: "directory", mode: 0o750 });
    expect(files.get("link")).toMatchObject({ type: "symlink", linkname: "sub/b.txt" });
    // The hardlink survives into the image: the engine archives one name as a link to the other.
    const pair = [files.get("hard"), files.get("sub/b.txt")];
    expect(pair.map((entry) => entry?.type).sort()).toEqual(["file", "link"]);
    expect(pair.find((entry) => entry?.type === "file")?.data).toBe("b");
    expect(files.get("empty")?.type).toBe("directory");
  });

  it.each([
    [
      "node_modules\n",
      [
        "a.txt",
        "node_modules-old",
        "node_modules-old/x.js",
        "docs",
        "docs/README.md",
        "docs/intro.md",
      ],
    ],
    ["docs\n!docs/README.md\nnode_modules*\n", ["a.txt", "docs", "docs/README.md"]],
    ["*\n!**/*.md\ndocs/intro.md\n", ["docs", "docs/README.md"]],
  ])("applies .dockerignore %j like the CLI", async (ignore, expected) => {
    const dir = await tree(await tempDir(), {
      Dockerfile: COPY_ALL,
      ".dockerignore": `${ignore}.dockerignore\nDockerfile\n`,
      "a.txt": "a",
      "node_modules/dep/index.js": "n",
      "node_modules-old/x.js": "o",
      "docs/README.md": "r",
      "docs/intro.md": "i",
    });
    const files = await filesIn(await build(dir));
    expect([...files.keys()].sort()).toEqual([...expected].sort());
  });

  it("builds when .dockerignore ignores the Dockerfile, which COPY then does not see", async () => {
    const dir = await tree(await tempDir(), {
      Dockerfile: COPY_ALL,
      ".dockerignore": "Dockerfile\n",
      "a.txt": "a",
    });
    const files = await filesIn(await build(dir));
    expect([...files.keys()].sort()).toEqual([".dockerignore", "a.txt"]);
  });

  it("builds with a Dockerfile outside the context, which COPY does not see", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), { "a.txt": "a", "b/c.txt": "c" });
    await writeFile(path.join(parent, "build.Dockerfile"), COPY_ALL);
    const files = await filesIn(
      await build(dir, { dockerfile: path.join(parent, "build.Dockerfile") }),
    );
    expect([...files.keys()].sort()).toEqual(["a.txt", "b", "b/c.txt"]);
  });

  it("builds overlays as if their files were in the context", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), {
      Dockerfile: "FROM busybox\nCOPY app /ctx/app\nCOPY extra.txt /ctx/\n",
    });
    const source = await tree(path.join(parent, "src"), {
      "pkg/main.py": "print('hi')\n",
      "pkg/sub/util.py": "x = 1\n",
      "extra.txt": "extra",
    });
    const files = await filesIn(
      await build(dir, {
        overlays: [
          { contextPath: "app", hostPath: path.join(source, "pkg") },
          { contextPath: "extra.txt", hostPath: path.join(source, "extra.txt") },
        ],
      }),
    );
    expect([...files.keys()].sort()).toEqual([
      "app",
      "app/main.py",
      "app/sub",
      "app/sub/util.py",
      "extra.txt",
    ]);
    expect(files.get("app/main.py")?.data).toBe("print('hi')\n");
  });

  it("delivers every byte when chunk memory is reused (piped into the engine's socket)", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: COPY_ALL, "small.txt": "s" });
    const big = randomBytes(5 * 1024 * 1024 + 7);
    await writeFile(path.join(dir, "big.bin"), big);
    const files = await filesIn(await build(dir));
    expect(files.get("small.txt")?.data).toBe("s");
    expect(files.get("big.bin")?.raw.equals(big)).toBe(true);
  });

  it("builds a gzipped context", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: COPY_ALL, "a.txt": "a" });
    const files = await filesIn(await build(dir, { gzip: true }));
    expect([...files.keys()].sort()).toEqual(["Dockerfile", "a.txt"]);
  });

  it("delivers files whose names are not valid UTF-8, byte for byte", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: COPY_ALL });
    const name = Buffer.from("caf\xe9-\xff.txt", "latin1");
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), "latin1 name");
    const image = await build(dir);
    const container = await docker.createContainer({
      Image: image,
      Labels: LABELS,
      HostConfig: { NetworkMode: "none" },
    });
    try {
      const archive = (await container.getArchive({ path: "/ctx" })) as unknown as Readable;
      const chunks: Buffer[] = [];
      for await (const chunk of archive) chunks.push(chunk as Buffer);
      // The engine's own tar of /ctx names the file in a PAX record, with the exact bytes.
      const raw = Buffer.concat(chunks);
      expect(raw.includes(Buffer.concat([Buffer.from("path=ctx/"), name, Buffer.from("\n")]))).toBe(
        true,
      );
      expect(raw.includes(Buffer.from("latin1 name"))).toBe(true);
    } finally {
      await container.remove({ force: true });
    }
  });

  it("sends overlays that are symlinks as links: nothing they point to reaches the image", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), { Dockerfile: COPY_ALL });
    const base = await tree(path.join(parent, "base"), { "keep.txt": "k" });
    await symlink("/etc", path.join(base, "link-etc"));
    await symlink("nowhere", path.join(base, "dangling"));
    await symlink("loop", path.join(base, "loop"));
    const overlays = ["link-etc", "dangling", "loop", "keep.txt"].map((name) => ({
      contextPath: name,
      hostPath: path.join(base, name),
    }));
    const files = await filesIn(await build(dir, { overlays }));
    expect([...files.keys()].sort()).toEqual([
      "Dockerfile",
      "dangling",
      "keep.txt",
      "link-etc",
      "loop",
    ]);
    expect(files.get("link-etc")).toMatchObject({ type: "symlink", linkname: "/etc" });
    expect(files.get("dangling")).toMatchObject({ type: "symlink", linkname: "nowhere" });
    expect(files.get("loop")).toMatchObject({ type: "symlink", linkname: "loop" });
  });
});
