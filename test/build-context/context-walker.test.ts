import nodeFs from "node:fs";
import { link, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readContextFile } from "../../src/build-context/context-file-reader.js";
import { type ContextEntry, walkContext } from "../../src/build-context/context-walker.js";
import { BuildContextError } from "../../src/errors.js";
import { tempDir, tree } from "../support/files.js";

async function context(files: Record<string, string>): Promise<string> {
  return nodeFs.realpathSync(await tree(await tempDir(), files));
}

function names(entries: Iterable<ContextEntry>): string[] {
  return [...entries].map((entry) => (entry.type === "directory" ? `${entry.name}/` : entry.name));
}

async function bytesOf(entry: ContextEntry): Promise<string> {
  const pieces: Buffer[] = [];
  for await (const piece of readContextFile(entry, { chunkSize: 3 })) pieces.push(piece);
  return Buffer.concat(pieces).toString("utf8");
}

const FILES = {
  Dockerfile: "FROM busybox\n",
  "a.txt": "a",
  "src/main.go": "m",
  "src/main_test.go": "t",
  "node_modules/x/index.js": "n",
  "docs/README.md": "r",
};

describe("walkContext", () => {
  it("walks with exclude patterns given by the caller, nothing forced in", async () => {
    const root = await context(FILES);
    const walked = names(walkContext(root, { excludes: ["node_modules", "*.txt", "Dockerfile"] }));
    expect(walked).toEqual(["docs/", "docs/README.md", "src/", "src/main.go", "src/main_test.go"]);
  });

  it("sends only what include patterns match, with the folders above it", async () => {
    const root = await context(FILES);
    const walked = names(walkContext(root, { includes: ["**/*.go"], excludes: ["**/*_test.go"] }));
    expect(walked).toEqual(["src/", "src/main.go"]);
  });

  it("includes the targets of followed symlinks, still sending the links as links", async () => {
    const root = await context({ "docker/real.Dockerfile": "FROM busybox\n", "other.txt": "o" });
    await symlink("docker/real.Dockerfile", path.join(root, "Dockerfile"));
    await symlink("/docker", path.join(root, "abs-link"));
    const entries = [
      ...walkContext(root, { followPaths: ["Dockerfile", "abs-link/real.Dockerfile"] }),
    ];
    expect(entries.map((entry) => [entry.name, entry.type])).toEqual([
      ["Dockerfile", "symlink"],
      ["abs-link", "symlink"],
      ["docker", "directory"],
      ["docker/real.Dockerfile", "file"],
    ]);
  });

  it("lays overlays and in-memory files over the context, each with its origin", async () => {
    const root = await context({ Dockerfile: "FROM busybox\n", "app/real.txt": "r" });
    const outside = await tree(await tempDir(), { "one.txt": "1" });
    const entries = [
      ...walkContext(root, {
        overlays: [{ contextPath: "app/one.txt", hostPath: path.join(outside, "one.txt") }],
        files: [{ path: "gen/made.txt", content: Buffer.from("made"), mode: 0o600, mtime: 7 }],
      }),
    ];
    expect(entries.map((entry) => [entry.name, entry.origin])).toEqual([
      ["Dockerfile", "context"],
      ["app", "context"],
      ["app/one.txt", "overlay"],
      ["app/real.txt", "context"],
      ["gen", "synthetic"],
      ["gen/made.txt", "generated"],
    ]);
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    expect(await bytesOf(byName.get("app/one.txt") as ContextEntry)).toBe("1");
    expect(await bytesOf(byName.get("gen/made.txt") as ContextEntry)).toBe("made");
    expect(byName.get("gen/made.txt")).toMatchObject({ mode: 0o600, mtime: 7, size: 4 });
  });

  it("reads file bytes without following a symlink swapped in after the walk", async () => {
    const root = await context({ "a.txt": "hello world" });
    const [entry] = [...walkContext(root)];
    expect(await bytesOf(entry as ContextEntry)).toBe("hello world");
    await rm(path.join(root, "a.txt"));
    await writeFile(path.join(root, "secret"), "SECRET SECRET");
    await symlink("secret", path.join(root, "a.txt"));
    await expect(bytesOf(entry as ContextEntry)).rejects.toBeInstanceOf(BuildContextError);
  });

  it("stops reading with the signal's reason", async () => {
    const root = await context({ "a.txt": "0123456789" });
    const [entry] = [...walkContext(root)];
    const controller = new AbortController();
    const reason = new Error("stop");
    const read = async () => {
      for await (const _ of readContextFile(entry as ContextEntry, {
        chunkSize: 2,
        signal: controller.signal,
      })) {
        controller.abort(reason);
      }
    };
    await expect(read()).rejects.toBe(reason);
  });

  it.each([false, true])(
    "sends a file linked several times in the context once, then as links to its first name (exact times: %s)",
    async (exactTimes) => {
      const root = await context({ "a/first.txt": "1", "b/other.txt": "2" });
      const outside = await tempDir();
      await link(path.join(root, "a/first.txt"), path.join(root, "b/second.txt"));
      await link(path.join(root, "a/first.txt"), path.join(root, "c.txt"));
      // Linked only from outside the context: a file like any other.
      await link(path.join(root, "b/other.txt"), path.join(outside, "elsewhere.txt"));
      // A name that is not UTF-8, linked again: the link names the first one's bytes.
      const odd = Buffer.from([0x6f, 0xff, 0x2e, 0x74]);
      await mkdir(path.join(root, "d"));
      await writeFile(Buffer.concat([Buffer.from(`${root}/d/`), odd]), "3");
      await link(Buffer.concat([Buffer.from(`${root}/d/`), odd]), path.join(root, "d/z.txt"));
      const entries = [...walkContext(root, { exactTimes })].filter(
        (entry) => entry.type !== "directory",
      );
      expect(
        entries.map(({ name, type, linkname, size }) => ({ name, type, linkname, size })),
      ).toEqual([
        { name: "a/first.txt", type: "file", linkname: undefined, size: 1 },
        { name: "b/other.txt", type: "file", linkname: undefined, size: 1 },
        { name: "b/second.txt", type: "link", linkname: "a/first.txt", size: 0 },
        { name: "c.txt", type: "link", linkname: "a/first.txt", size: 0 },
        { name: "d/o\ufffd.t", type: "file", linkname: undefined, size: 1 },
        { name: "d/z.txt", type: "link", linkname: "d/o\ufffd.t", size: 0 },
      ]);
      const last = entries.at(-1) as ContextEntry;
      expect(Buffer.from(last.linknameBytes ?? []).equals(Buffer.from([0x64, 0x2f, ...odd]))).toBe(
        true,
      );
    },
  );
});
