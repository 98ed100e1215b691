import nodeFs from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createBuildContext } from "../../src/build-context/build-context.js";
import type { BuildContextFs } from "../../src/build-context/context-fs.js";
import {
  BuildContextError,
  DockerfileNotFoundError,
  InvalidArgumentError,
} from "../../src/errors.js";
import { pack } from "../support/context-tar.js";
import { tempDir, tree } from "../support/files.js";

describe("createBuildContext: Dockerfile outside the context", () => {
  it("adds it under a generated name and hides it from COPY through .dockerignore", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), { "a.txt": "a", ".dockerignore": "secret\n" });
    await writeFile(path.join(parent, "outside.Dockerfile"), "FROM busybox\nCOPY . /ctx\n");
    const { names, entries, context } = await pack(dir, {
      dockerfile: path.join(parent, "outside.Dockerfile"),
    });
    expect(context.dockerfile).toMatch(/^\.dockerfile\.[0-9a-f]{20}$/);
    expect(names).toEqual([context.dockerfile, ".dockerignore", "a.txt"].sort());
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    expect(byName.get(context.dockerfile)?.data).toBe("FROM busybox\nCOPY . /ctx\n");
    expect(byName.get(".dockerignore")?.data).toBe(`secret\n\n${context.dockerfile}\n`);
  });

  it("creates a .dockerignore listing itself when there is none", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), { "a.txt": "a" });
    await writeFile(path.join(parent, "Dockerfile"), "FROM busybox\n");
    const { entries, context } = await pack(dir, { dockerfile: "../Dockerfile" });
    const ignore = entries.find((entry) => entry.name === ".dockerignore");
    expect(ignore?.data).toBe(`.dockerignore\n${context.dockerfile}\n`);
  });

  it("rejects a Dockerfile outside the context that does not exist", async () => {
    const dir = await tempDir();
    await expect(createBuildContext(dir, { dockerfile: "../nope/Dockerfile" })).rejects.toThrow(
      DockerfileNotFoundError,
    );
  });

  it("rejects a missing Dockerfile before sending anything, naming its full path", async () => {
    const dir = await tree(await tempDir(), { "a.txt": "a" });
    const read: string[] = [];
    const fs: BuildContextFs = {
      ...nodeFs,
      openSync: ((file: string, ...rest: [number]) => {
        read.push(file);
        return nodeFs.openSync(file, ...rest);
      }) as typeof nodeFs.openSync,
    };
    for (const dockerfile of [undefined, "sub/Custom.Dockerfile"]) {
      const error = await createBuildContext(dir, {
        fs,
        ...(dockerfile ? { dockerfile } : {}),
      }).catch((caught: unknown) => caught);
      const full = path.join(dir, dockerfile ?? "Dockerfile");
      expect(error).toBeInstanceOf(DockerfileNotFoundError);
      expect((error as DockerfileNotFoundError).path).toBe(full);
      expect((error as Error).message).toContain(full);
    }
    expect(read).toEqual([]);
  });

  it("accepts a Dockerfile that an overlay adds", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), { "a.txt": "a" });
    await writeFile(path.join(parent, "made.Dockerfile"), "FROM busybox\n");
    const { names, context } = await pack(dir, {
      overlays: [{ contextPath: "Dockerfile", hostPath: path.join(parent, "made.Dockerfile") }],
    });
    expect(context.dockerfile).toBe("Dockerfile");
    expect(names).toEqual(["Dockerfile", "a.txt"]);
  });

  it("rejects a Dockerfile that is a folder, naming it", async () => {
    const dir = await tree(await tempDir(), { "Dockerfile/": "" });
    const error = await createBuildContext(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as Error).message).toMatch(/is a folder/);
  });
});

describe("createBuildContext: overlays", () => {
  it("lays files and folders over the context, creating parent folders", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), {
      Dockerfile: "FROM busybox\n",
      "lib/real.txt": "real",
      "lib/clash.txt": "real",
      ".dockerignore": "**/*.txt\n",
    });
    const source = await tree(path.join(parent, "src"), {
      "pkg/a.txt": "a",
      "pkg/sub/b.txt": "b",
      "one.txt": "one",
      "clash.txt": "overlay",
    });
    await chmod(path.join(source, "pkg/sub"), 0o700);
    const { names, entries } = await pack(dir, {
      overlays: [
        { contextPath: "deep/in/pkg", hostPath: path.join(source, "pkg") },
        { contextPath: "lib/clash.txt", hostPath: path.join(source, "clash.txt") },
        { contextPath: "./single.txt", hostPath: path.join(source, "one.txt") },
      ],
    });
    expect(names).toEqual([
      ".dockerignore",
      "Dockerfile",
      "deep/",
      "deep/in/",
      "deep/in/pkg/",
      "deep/in/pkg/a.txt",
      "deep/in/pkg/sub/",
      "deep/in/pkg/sub/b.txt",
      "lib/",
      "lib/clash.txt",
      "single.txt",
    ]);
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    expect(byName.get("lib/clash.txt")?.data).toBe("overlay");
    expect(byName.get("deep/in/pkg/sub/")?.mode).toBe(0o700);
    expect(byName.get("deep/")?.mode).toBe(0o755);
  });

  it("lets a deeper or later overlay win", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), { Dockerfile: "FROM busybox\n" });
    const source = await tree(path.join(parent, "src"), {
      "pkg/a.txt": "from-dir",
      "b.txt": "from-file",
      "c.txt": "later",
    });
    const { entries } = await pack(dir, {
      overlays: [
        { contextPath: "app", hostPath: path.join(source, "pkg") },
        { contextPath: "app/a.txt", hostPath: path.join(source, "b.txt") },
        { contextPath: "x.txt", hostPath: path.join(source, "b.txt") },
        { contextPath: "x.txt", hostPath: path.join(source, "c.txt") },
      ],
    });
    const data = Object.fromEntries(entries.map((entry) => [entry.name, entry.data]));
    expect(data["app/a.txt"]).toBe("from-file");
    expect(data["x.txt"]).toBe("later");
  });

  it.each([["/abs"], ["../up"], ["a/../../b"], ["."], [""]])(
    "rejects the contextPath %j before reading anything",
    async (contextPath) => {
      const dir = await tempDir();
      await expect(
        createBuildContext(dir, { overlays: [{ contextPath, hostPath: dir }] }),
      ).rejects.toThrow(InvalidArgumentError);
    },
  );

  it("rejects an overlay whose host path does not exist, naming it", async () => {
    const dir = await tempDir();
    const missing = path.join(dir, "missing");
    const error = await createBuildContext(dir, {
      overlays: [{ contextPath: "x", hostPath: missing }],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as BuildContextError).path).toBe(missing);
  });
});
