// Folder overlays with applyDockerignore (ImageBuilder's copies): the folder's own .dockerignore
// applies below it with moby's semantics, also to overlays nested inside it, on both the classic
// tar and BuildKit's file sync walk; the file is read safely and fails closed.
import { execFileSync } from "node:child_process";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { BuildContextOverlay } from "../../src/build-context/build-context.js";
import { walkSyncTree } from "../../src/buildkit/sync-tree.js";
import { BuildContextError } from "../../src/errors.js";
import { pack } from "../support/context-tar.js";
import { tempDir, tree } from "../support/files.js";

/** An empty folder `name` in `root`. */
async function emptyFolder(root: string, name: string): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(folder);
  return folder;
}

/** The entries a classic context and a BuildKit sync send, as names (folders end in `/`). */
async function sent(context: string, overlays: BuildContextOverlay[]) {
  const outside = path.join(await tempDir(), "Dockerfile");
  await writeFile(outside, "FROM scratch\n");
  const { entries } = await pack(context, { dockerfile: outside, overlays });
  const classic = entries
    .filter((entry) => !entry.name.startsWith(".dockerfile.") && entry.name !== ".dockerignore")
    .map((entry) => (entry.type === "directory" ? `${entry.name.replace(/\/$/, "")}/` : entry.name))
    .sort();
  const synced = [...walkSyncTree({ root: context, overlays })]
    .map((entry) => (entry.type === "directory" ? `${entry.name}/` : entry.name))
    .sort();
  return { classic, synced };
}

describe("a folder overlay with applyDockerignore", () => {
  it("leaves out what its .dockerignore excludes, relative to the folder, on both paths", async () => {
    const root = await tempDir();
    const context = await tree(path.join(root, "context"), { "own.txt": "" });
    const folder = await tree(path.join(root, "project"), {
      ".dockerignore": ".env\n*.log\ncache\nsecrets\n!secrets/public.pem\n",
      ".env": "TOKEN=x",
      "a.log": "",
      "src/b.log": "",
      "src/.env": "",
      "cache/big.bin": "",
      "secrets/private.pem": "",
      "secrets/public.pem": "",
      "flow.py": "",
    });
    const { classic, synced } = await sent(context, [
      { contextPath: "app", hostPath: folder, applyDockerignore: true },
    ]);
    expect(classic).toEqual([
      "app/",
      "app/.dockerignore",
      "app/flow.py",
      "app/secrets/",
      "app/secrets/public.pem",
      "app/src/",
      "app/src/.env",
      "app/src/b.log",
      "own.txt",
    ]);
    expect(synced).toEqual(classic);
    // Without the option, everything is sent.
    const all = await sent(context, [{ contextPath: "app", hostPath: folder }]);
    expect(all.classic).toEqual(
      expect.arrayContaining(["app/.env", "app/a.log", "app/cache/big.bin"]),
    );
  });

  it("applies to overlays nested inside it, also below a folder only holding deeper ones", async () => {
    const root = await tempDir();
    const context = await emptyFolder(root, "context");
    const folder = await tree(path.join(root, "project"), {
      ".dockerignore": "x/secret.txt\nsub/hidden.txt\n",
      "x/secret.txt": "",
      "x/y/z/keep.txt": "",
      "sub/hidden.txt": "",
      "sub/ok.txt": "",
    });
    const { classic, synced } = await sent(context, [
      { contextPath: "p", hostPath: folder, applyDockerignore: true },
      { contextPath: "p/sub", hostPath: path.join(folder, "sub") },
      { contextPath: "p/x/y/z", hostPath: path.join(folder, "x/y/z") },
    ]);
    expect(classic).not.toContain("p/x/secret.txt");
    expect(classic).not.toContain("p/sub/hidden.txt");
    expect(classic).toEqual(expect.arrayContaining(["p/sub/ok.txt", "p/x/y/z/keep.txt"]));
    expect(synced).toEqual(classic);
  });

  it("refuses, before anything is sent, an overlay nested inside it that it excludes", async () => {
    const root = await tempDir();
    const context = await emptyFolder(root, "context");
    const folder = await tree(path.join(root, "project"), {
      ".dockerignore": ".env\n",
      ".env": "",
    });
    const error = await pack(context, {
      overlays: [
        { contextPath: "p", hostPath: folder, applyDockerignore: true },
        { contextPath: "p/.env", hostPath: path.join(folder, ".env") },
      ],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as BuildContextError).path).toBe(path.join(folder, ".env"));
    expect((error as Error).message).toContain(
      `${path.join(folder, ".dockerignore")} excludes .env`,
    );
  });

  it("follows a symlinked .dockerignore inside the folder, refuses one leading out", async () => {
    const root = await tempDir();
    const context = await emptyFolder(root, "context");
    const inside = await tree(path.join(root, "inside"), {
      "rules/ignore": "*.log\n",
      "a.log": "",
    });
    await symlink("rules/ignore", path.join(inside, ".dockerignore"));
    const { classic } = await sent(context, [
      { contextPath: "p", hostPath: inside, applyDockerignore: true },
    ]);
    expect(classic).not.toContain("p/a.log");
    const out = await tree(path.join(root, "out"), { "a.log": "" });
    await writeFile(path.join(root, "elsewhere"), "*.log\n");
    await symlink(path.join(root, "elsewhere"), path.join(out, ".dockerignore"));
    await expect(
      pack(context, { overlays: [{ contextPath: "p", hostPath: out, applyDockerignore: true }] }),
    ).rejects.toThrow(/is a symlink to .*outside the build context/);
  });

  it.each([
    [
      "an invalid pattern",
      async (folder: string) => writeFile(path.join(folder, ".dockerignore"), "[\n"),
    ],
    ["a folder", async (folder: string) => mkdir(path.join(folder, ".dockerignore"))],
    [
      "a FIFO",
      async (folder: string) => {
        execFileSync("mkfifo", [path.join(folder, ".dockerignore")]);
      },
    ],
  ])("fails closed on a .dockerignore that is %s", async (_what, make) => {
    const root = await tempDir();
    const context = await emptyFolder(root, "context");
    const folder = await tree(path.join(root, "project"), { ".env": "" });
    await make(folder);
    const error = await pack(context, {
      overlays: [{ contextPath: "p", hostPath: folder, applyDockerignore: true }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as BuildContextError).path).toBe(path.join(folder, ".dockerignore"));
  });

  it("is checked like the other overlay fields", async () => {
    const context = await tempDir();
    await expect(
      pack(context, {
        overlays: [{ contextPath: "p", hostPath: context, applyDockerignore: "yes" as never }],
      }),
    ).rejects.toThrow(/applyDockerignore, a boolean/);
  });
});
