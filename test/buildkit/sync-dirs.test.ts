// Which rules a BuildKit build's folders carry, whatever the engine asks: the context's own
// .dockerignore as the classic build picks it, and only the Dockerfile from its folder.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { syncDirs } from "../../src/buildkit/sync-dirs.js";
import { walkSyncTree } from "../../src/buildkit/sync-tree.js";
import { BuildContextError, DockerfileNotFoundError } from "../../src/errors.js";
import { tempDir, tree } from "../support/files.js";

const names = (iterable: Iterable<{ name: string }>) => [...iterable].map((entry) => entry.name);

describe("syncDirs", () => {
  it("gives the context the classic build's .dockerignore, the Dockerfile's own first", async () => {
    const root = await tempDir();
    await tree(root, {
      Dockerfile: "FROM busybox\n",
      ".dockerignore": "*.log\n",
      "Dockerfile.dockerignore": ".env\n*.pem\n",
      ".env": "x",
      "a.pem": "x",
      "b.log": "x",
    });
    const { dirs, dockerfileName } = syncDirs(root, undefined);
    expect(dockerfileName).toBe("Dockerfile");
    const context = dirs.get("context");
    expect(context?.ignore).toEqual({
      excludes: [".env", "*.pem"],
      alwaysInclude: ["Dockerfile", ".dockerignore"],
    });
    // An engine asking for everything gets what those rules leave.
    expect(names(walkSyncTree(context as never))).toEqual([
      ".dockerignore",
      "Dockerfile",
      "Dockerfile.dockerignore",
      "b.log",
    ]);
  });

  it("lets only the Dockerfile and its ignore file out of the Dockerfile's folder", async () => {
    const root = await tempDir();
    const elsewhere = await tempDir();
    await tree(root, { "keep.txt": "k" });
    await tree(elsewhere, {
      "Build.df": "FROM busybox\n",
      "Build.df.dockerignore": "x\n",
      id_rsa: "private",
    });
    const { dirs, dockerfileName } = syncDirs(root, path.join(elsewhere, "Build.df"));
    expect(dockerfileName).toBe("Build.df");
    const folder = dirs.get("dockerfile");
    expect(folder).toMatchObject({ root: elsewhere, only: ["Build.df", "Build.df.dockerignore"] });
    expect(names(walkSyncTree(folder as never))).toEqual(["Build.df", "Build.df.dockerignore"]);
    expect(names(walkSyncTree(folder as never, { includes: ["**"] }))).toEqual([
      "Build.df",
      "Build.df.dockerignore",
    ]);
  });

  it("refuses what the classic build refuses, before the session opens", async () => {
    const root = await tempDir();
    await tree(root, { Dockerfile: "FROM busybox\n", ".dockerignore": "!\n" });
    expect(() => syncDirs(root, undefined)).toThrow(BuildContextError);
    // A Dockerfile in a folder that does not exist is a missing Dockerfile, as on the classic path.
    expect(() => syncDirs(root, "missing/Dockerfile")).toThrow(DockerfileNotFoundError);
  });
});
