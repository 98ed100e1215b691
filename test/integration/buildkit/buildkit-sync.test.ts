// The context travels through the session's file sync: the engine keeps what it received under
// the folder's shared key, so a rebuild sends only what changed.
import { lstat, mkdir, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildImage } from "../../../src/index.js";
import { contextWith, recorder } from "../buildkit-helpers.js";
import { runImage } from "../support.js";

describe("BuildKit file sync", () => {
  it("sends only the changed file when a 20,000-file context is built again", async () => {
    const dir = await contextWith({
      Dockerfile: "FROM busybox:latest\nCOPY . /ctx\n",
      ".dockerignore": "Dockerfile\n.dockerignore\n",
    });
    for (let folder = 0; folder < 100; folder++) {
      const sub = path.join(dir, `d${String(folder).padStart(3, "0")}`);
      await mkdir(sub);
      for (let file = 0; file < 200; file++) {
        await writeFile(
          path.join(sub, `f${String(file).padStart(3, "0")}.txt`),
          `file ${folder}/${file}\n`,
        );
      }
    }
    const build = async () => {
      const events = recorder();
      const imageId = await buildImage(dir, {
        builder: "buildkit",
        networkMode: "none",
        onProgress: events.onProgress,
      });
      // The engine reads the context twice: .dockerignore alone first, then what COPY needs.
      const syncs = events.contextSyncs().sort((a, b) => b.entries - a.entries);
      expect(syncs.map((sync) => sync.entries)).toEqual([20_100, 1]);
      return { imageId, sync: syncs[0] };
    };

    const cold = await build();
    expect(cold.sync).toMatchObject({ entries: 20_100, files: 20_000 });

    const changed = "changed, and longer than before\n";
    await writeFile(path.join(dir, "d042", "f123.txt"), changed);
    const rebuilt = await build();
    // 20,100 entries listed, one file's bytes sent.
    expect(rebuilt.sync).toMatchObject({
      entries: 20_100,
      files: 1,
      bytes: Buffer.byteLength(changed),
    });
    expect(await runImage(rebuilt.imageId, ["cat", "/ctx/d042/f123.txt"])).toBe(changed);
    expect(await runImage(rebuilt.imageId, ["cat", "/ctx/d007/f008.txt"])).toBe("file 7/8\n");

    const unchanged = await build();
    expect(unchanged.sync).toMatchObject({ entries: 20_100, files: 0, bytes: 0 });
    expect(unchanged.imageId).toBe(rebuilt.imageId);
  }, 600_000);

  it("notices a file rewritten with the same size within the same second", async () => {
    const dir = await contextWith({ Dockerfile: "FROM busybox:latest\nCOPY data.txt /data.txt\n" });
    const file = path.join(dir, "data.txt");
    await writeFile(file, "first\n");
    await utimes(file, 1_700_000_000.25, 1_700_000_000.25);
    const first = await buildImage(dir, { builder: "buildkit", networkMode: "none" });
    expect(await runImage(first, ["cat", "/data.txt"])).toBe("first\n");
    // Same size, same second, a quarter of a second later: only the nanoseconds differ.
    await writeFile(file, "again\n");
    await utimes(file, 1_700_000_000.5, 1_700_000_000.5);
    expect(Math.floor((await lstat(file)).mtimeMs / 1000)).toBe(1_700_000_000);
    const events = recorder();
    const second = await buildImage(dir, {
      builder: "buildkit",
      networkMode: "none",
      onProgress: events.onProgress,
    });
    expect(await runImage(second, ["cat", "/data.txt"])).toBe("again\n");
    expect(events.contextSyncs().map((sync) => sync.files)).toContain(1);
  });
});
