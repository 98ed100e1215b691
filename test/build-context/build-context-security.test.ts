import { execFileSync } from "node:child_process";
import nodeFs from "node:fs";
import { symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createBuildContext } from "../../src/build-context/build-context.js";
import { MAX_CONTROL_FILE_BYTES } from "../../src/defaults.js";
import { BuildContextError, InvalidArgumentError } from "../../src/errors.js";
import { cliContext } from "../support/cli-context.js";
import { pack, paxBlocks } from "../support/context-tar.js";
import { tempDir, tree } from "../support/files.js";

describe("createBuildContext: symlinks, special files and names (no byte from outside)", () => {
  it("sends an overlay that is a symlink as that symlink, never what it points to", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), { Dockerfile: "FROM busybox\n" });
    const base = await tree(path.join(parent, "base"), { "keep.txt": "k" });
    await symlink("/etc", path.join(base, "link-etc"));
    await symlink("missing-target", path.join(base, "dangling"));
    await symlink("loop", path.join(base, "loop"));
    const overlays = ["link-etc", "dangling", "loop", "keep.txt"].map((name) => ({
      contextPath: name,
      hostPath: path.join(base, name),
    }));
    const { entries } = await pack(dir, { overlays });
    expect(entries.map((entry) => [entry.name, entry.type, entry.linkname])).toEqual([
      ["Dockerfile", "file", null],
      ["dangling", "symlink", "missing-target"],
      ["keep.txt", "file", null],
      ["link-etc", "symlink", "/etc"],
      ["loop", "symlink", "loop"],
    ]);
  });

  it("refuses an overlay reached through a symlink below its `within` folder", async () => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), { Dockerfile: "FROM busybox\n" });
    const base = await tree(path.join(parent, "base"), { "sub/ok.txt": "ok" });
    await symlink("/etc", path.join(base, "link-etc"));
    const within = (hostPath: string) => ({ contextPath: "x", hostPath, within: base });
    const refused = await createBuildContext(dir, {
      overlays: [within(path.join(base, "link-etc/passwd"))],
    }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(BuildContextError);
    expect((refused as Error).message).toContain(`symlink ${path.join(base, "link-etc")}`);
    const outside = await createBuildContext(dir, { overlays: [within("/etc/passwd")] }).catch(
      (caught: unknown) => caught,
    );
    expect(outside).toBeInstanceOf(InvalidArgumentError);
    const { entries } = await pack(dir, {
      overlays: [
        within(path.join(base, "sub/ok.txt")),
        { ...within(path.join(base, "link-etc")), contextPath: "l" },
      ],
    });
    expect(entries.map((entry) => [entry.name, entry.type])).toEqual([
      ["Dockerfile", "file"],
      ["l", "symlink"],
      ["x", "file"],
    ]);
  });

  it("never sends the text of a .dockerignore symlink, even with a Dockerfile outside", async () => {
    const parent = await tempDir();
    await writeFile(path.join(parent, "secret.txt"), "SECRET-OUTSIDE\n");
    const dir = await tree(path.join(parent, "ctx"), { "a.txt": "a", "lists/ignore": "a.txt\n" });
    await symlink("lists/ignore", path.join(dir, ".dockerignore"));
    await writeFile(path.join(parent, "Dockerfile"), "FROM busybox\n");
    const { entries, context } = await pack(dir, { dockerfile: path.join(parent, "Dockerfile") });
    const ignore = entries.find((entry) => entry.name === ".dockerignore");
    // Patterns from a link inside the context still apply: a.txt is not sent.
    expect(entries.map((entry) => entry.name)).toEqual([
      context.dockerfile,
      ".dockerignore",
      "lists/",
      "lists/ignore",
    ]);
    expect(ignore).toMatchObject({ type: "file", data: `.dockerignore\n${context.dockerfile}\n` });
  });

  it("sends a .dockerignore symlink as a link when the Dockerfile is inside", async () => {
    const dir = await tree(await tempDir(), {
      Dockerfile: "FROM busybox\n",
      "a.txt": "a",
      "b.txt": "b",
      "lists/ignore": "a.txt\n",
    });
    await symlink("lists/ignore", path.join(dir, ".dockerignore"));
    const { entries } = await pack(dir);
    expect(entries.map((entry) => [entry.name, entry.type])).toEqual([
      [".dockerignore", "symlink"],
      ["Dockerfile", "file"],
      ["b.txt", "file"],
      ["lists/", "directory"],
      ["lists/ignore", "file"],
    ]);
  });

  it.each([
    ["a file outside the context", (parent: string) => path.join(parent, "secret.txt")],
    ["/dev/zero", () => "/dev/zero"],
  ])("refuses a .dockerignore that is a symlink to %s", async (_what, target) => {
    const parent = await tempDir();
    await writeFile(path.join(parent, "secret.txt"), "SECRET\n");
    const dir = await tree(path.join(parent, "ctx"), { Dockerfile: "FROM busybox\n" });
    await symlink(target(parent), path.join(dir, ".dockerignore"));
    const error = await createBuildContext(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as Error).message).toMatch(/outside the build context/);
  });

  it("refuses a Dockerfile in the context that links outside it", async () => {
    const parent = await tempDir();
    await writeFile(path.join(parent, "secret"), "SECRET\n");
    const dir = await tree(path.join(parent, "ctx"), { "a.txt": "a" });
    await symlink(path.join(parent, "secret"), path.join(dir, "Dockerfile"));
    const error = await createBuildContext(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as Error).message).toMatch(/outside the build context/);
  });

  it("follows a Dockerfile symlink that stays inside the context, as the CLI does", async () => {
    const dir = await tree(await tempDir(), { "docker/real.Dockerfile": "FROM busybox\n" });
    await symlink("docker/real.Dockerfile", path.join(dir, "Dockerfile"));
    const { context, names } = await pack(dir);
    expect(context.dockerfile).toBe("docker/real.Dockerfile");
    expect(names).toEqual(["Dockerfile", "docker/", "docker/real.Dockerfile"]);
  });

  it.each([
    [".dockerignore", "in the context"],
    ["Dockerfile", "in the context"],
    ["outside.Dockerfile", "outside the context"],
  ])("fails at once, without hanging, when the %s %s is a FIFO", async (name, where) => {
    const parent = await tempDir();
    const dir = await tree(path.join(parent, "ctx"), { Dockerfile: "FROM busybox\n" });
    const fifo = path.join(where === "in the context" ? dir : parent, name);
    if (name === "Dockerfile") await nodeFs.promises.rm(fifo);
    execFileSync("mkfifo", [fifo]);
    const options = name === "outside.Dockerfile" ? { dockerfile: fifo } : {};
    const error = await createBuildContext(dir, options).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as Error).message).toMatch(/FIFO|not a regular file/);
  });

  it("refuses a Dockerfile that is a device", async () => {
    const dir = await tree(await tempDir(), { "a.txt": "a" });
    const error = await createBuildContext(dir, { dockerfile: "/dev/zero" }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as Error).message).toMatch(/device/);
  });

  it("refuses a .dockerignore larger than the bound", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "FROM busybox\n" });
    const file = await nodeFs.promises.open(path.join(dir, ".dockerignore"), "w");
    await file.truncate(MAX_CONTROL_FILE_BYTES + 1);
    await file.close();
    const error = await createBuildContext(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as Error).message).toMatch(/larger than/);
  });

  it("sends names that are not valid UTF-8 as their bytes, like the docker CLI", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "FROM busybox\n", "ünï.txt": "u" });
    const latin1 = Buffer.from("caf\xe9.txt", "latin1");
    nodeFs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), latin1]), "latin1");
    const folder = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x64, 0xff])]);
    nodeFs.mkdirSync(folder);
    nodeFs.writeFileSync(Buffer.concat([folder, Buffer.from("/x")]), "x");
    nodeFs.symlinkSync(Buffer.from("tar\xfeget", "latin1"), Buffer.from(`${dir}/lnk`));
    const context = await createBuildContext(dir);
    const chunks: Buffer[] = [];
    for await (const chunk of context.stream) chunks.push(chunk as Buffer);
    const listed = await context.entries;
    expect(listed.find((entry) => entry.name === "caf\ufffd.txt")?.nameBytes).toEqual(latin1);
    expect(listed.find((entry) => entry.name === "lnk")?.linknameBytes).toEqual(
      Buffer.from("tar\xfeget", "latin1"),
    );
    // The CLI's own tar of the same folder: every PAX header and record matches byte for byte.
    const cli = await cliContext(dir);
    expect(paxBlocks(Buffer.concat(chunks))).toEqual(paxBlocks(cli.tar));
    expect(paxBlocks(cli.tar)).toHaveLength(5);
  });

  it("names the host path, not an internal option, when an overlay cannot be read", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "FROM busybox\n" });
    const missing = path.join(dir, "nope.txt");
    const errors = await Promise.all(
      [
        createBuildContext(dir, { overlays: [{ contextPath: "a", hostPath: missing }] }),
        createBuildContext(dir, { overlays: [{ contextPath: "../a", hostPath: missing }] }),
        createBuildContext(dir, { overlays: [{ contextPath: "a", hostPath: "" }] }),
      ].map((promise) =>
        promise.then(
          () => new Error("no error"),
          (caught: unknown) => caught as Error,
        ),
      ),
    );
    expect(errors.map((error) => error.constructor)).toEqual([
      BuildContextError,
      InvalidArgumentError,
      InvalidArgumentError,
    ]);
    for (const error of errors)
      expect(error.message).not.toMatch(/overlays\[|hostPath|contextPath/);
    expect(errors[0]?.message).toContain(missing);
    expect(errors[1]?.message).toContain(missing);
  });
});
