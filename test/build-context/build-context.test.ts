import { execFileSync } from "node:child_process";
import nodeFs from "node:fs";
import { chmod, link, symlink, utimes, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { createGunzip } from "node:zlib";
import { describe, expect, it, onTestFinished } from "vitest";
import { createBuildContext } from "../../src/build-context/build-context.js";
import type { BuildContextFs } from "../../src/build-context/context-fs.js";
import { BuildContextError, InvalidArgumentError } from "../../src/errors.js";
import { pack, untar } from "../support/context-tar.js";
import { tempDir, tree } from "../support/files.js";

describe("createBuildContext: tar entries", () => {
  it("archives files, folders, empty folders, symlinks and hardlinks like the CLI", async () => {
    const dir = await tempDir();
    await tree(dir, {
      Dockerfile: "FROM busybox\n",
      "a.txt": "a",
      "a/b.txt": "b",
      "a/c/": "",
      "empty/": "",
      "run.sh": "#!/bin/sh\n",
    });
    await chmod(path.join(dir, "run.sh"), 0o775);
    await chmod(path.join(dir, "a/c"), 0o1777);
    await chmod(path.join(dir, "a.txt"), 0o4640);
    await symlink("a/b.txt", path.join(dir, "link-rel"));
    await symlink("/etc/passwd", path.join(dir, "link-abs"));
    await symlink("missing", path.join(dir, "link-dangling"));
    await link(path.join(dir, "a/b.txt"), path.join(dir, "z-hard"));
    await utimes(path.join(dir, "a.txt"), 1_000_000_000, 1_234_567_890);

    const { names, entries } = await pack(dir);
    // Byte order within each folder, depth first, as Go's filepath.WalkDir walks.
    expect(names).toEqual([
      "Dockerfile",
      "a/",
      "a/b.txt",
      "a/c/",
      "a.txt",
      "empty/",
      "link-abs",
      "link-dangling",
      "link-rel",
      "run.sh",
      "z-hard",
    ]);
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    expect(byName.get("run.sh")).toMatchObject({ type: "file", mode: 0o775, data: "#!/bin/sh\n" });
    expect(byName.get("a/c/")).toMatchObject({ type: "directory", mode: 0o1777 });
    expect(byName.get("a.txt")).toMatchObject({ mode: 0o4640, mtime: 1_234_567_890, data: "a" });
    expect(byName.get("link-rel")).toMatchObject({ type: "symlink", linkname: "a/b.txt", size: 0 });
    expect(byName.get("link-abs")).toMatchObject({ type: "symlink", linkname: "/etc/passwd" });
    expect(byName.get("link-dangling")).toMatchObject({ type: "symlink", linkname: "missing" });
    expect(byName.get("z-hard")).toMatchObject({ type: "link", linkname: "a/b.txt", size: 0 });
    for (const entry of entries) {
      expect(entry).toMatchObject({ uid: 0, gid: 0, uname: "", gname: "" });
    }
  });

  it("keeps permission bits exactly, whatever the umask", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "FROM busybox\n" });
    const modes = [0o600, 0o644, 0o664, 0o666, 0o700, 0o755, 0o775, 0o777, 0o2755, 0o1755];
    for (const mode of modes) {
      const file = path.join(dir, `f-${mode.toString(8)}`);
      await writeFile(file, "x");
      await chmod(file, mode);
    }
    const previous = process.umask(0o077);
    try {
      const { entries } = await pack(dir);
      const files = entries.filter((entry) => entry.name !== "Dockerfile");
      expect(files.map((entry) => [entry.name, entry.mode.toString(8)])).toEqual(
        modes
          .map((mode) => [`f-${mode.toString(8)}`, mode.toString(8)])
          .sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)),
      );
    } finally {
      process.umask(previous);
    }
  });

  it("skips FIFOs and sockets without blocking on them", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "FROM busybox\n", "keep.txt": "k" });
    execFileSync("mkfifo", [path.join(dir, "fifo")]);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, "socket"), resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { names } = await pack(dir);
    expect(names).toEqual(["Dockerfile", "keep.txt"]);
  });

  it("handles long and non-ASCII names with PAX headers", async () => {
    const dir = await tempDir();
    const deep = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(90)}.txt`;
    const longName = `${"l".repeat(200)}.txt`;
    const longTarget = `${"t".repeat(150)}/target`;
    await tree(dir, {
      Dockerfile: "FROM busybox\n",
      [deep]: "deep",
      [longName]: "long",
      "ünïcødé-文件.txt": "u",
    });
    await symlink(longTarget, path.join(dir, "long-link"));
    const { entries, context } = await pack(dir);
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    expect(byName.get(deep)?.data).toBe("deep");
    expect(byName.get(longName)?.data).toBe("long");
    expect(byName.get("ünïcødé-文件.txt")?.data).toBe("u");
    expect(byName.get("long-link")?.linkname).toBe(longTarget);
    expect((await context.entries).map((entry) => entry.name)).toContain(deep);
  });

  it("lists what it sent in `entries`, in order", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "FROM busybox\n", "x/y.txt": "yy" });
    const { context, entries } = await pack(dir);
    const listed = await context.entries;
    expect(listed.map((entry) => entry.name)).toEqual(
      entries.map((entry) => entry.name.replace(/\/$/, "")),
    );
    expect(listed[2]).toMatchObject({ name: "x/y.txt", type: "file", size: 2 });
    expect(listed[2]?.source).toBe(path.join(nodeFs.realpathSync(dir), "x/y.txt"));
  });

  it("produces the same bytes every time", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x", "b/c": "c", a: "a" });
    const read = async () => {
      const { stream } = await createBuildContext(dir);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };
    expect((await read()).equals(await read())).toBe(true);
  });

  it("gzips when asked", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "FROM busybox\n", "a.txt": "a" });
    const { stream } = await createBuildContext(dir, { gzip: true });
    const entries = await untar(stream.pipe(createGunzip()));
    expect(entries.map((entry) => entry.name)).toEqual(["Dockerfile", "a.txt"]);
  });

  it("streams big files with backpressure: the reader stays close behind the consumer", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x" });
    const size = 48 * 1024 * 1024;
    const file = await nodeFs.promises.open(path.join(dir, "big.bin"), "w");
    await file.truncate(size);
    await file.close();
    let readFromDisk = 0;
    const fs: BuildContextFs = {
      ...nodeFs,
      readSync: ((...args: Parameters<typeof nodeFs.readSync>) => {
        const read = (nodeFs.readSync as (...a: Parameters<typeof nodeFs.readSync>) => number)(
          ...args,
        );
        readFromDisk += read;
        return read;
      }) as typeof nodeFs.readSync,
    };
    const { stream } = await createBuildContext(dir, { fs });
    let consumed = 0;
    let maxAhead = 0;
    for await (const chunk of stream) {
      consumed += (chunk as Buffer).length;
      maxAhead = Math.max(maxAhead, readFromDisk - consumed);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(consumed).toBe(1024 + 512 + size + 1024);
    expect(maxAhead).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
});

describe("createBuildContext: .dockerignore", () => {
  const files = {
    Dockerfile: "FROM busybox\n",
    "README.md": "r",
    "CHANGES.md": "c",
    "README-secret.md": "s",
    "docs/README.md": "d",
    "docs/intro.md": "i",
    "main.go": "m",
    "pkg/util.go": "u",
    "pkg/util_test.go": "t",
    "node_modules/dep/index.js": "n",
    "node_modules-old/index.js": "o",
    "src/node_modules/inner.js": "in",
    "somedir/temporary.txt": "t",
    "somedir/subdir/temp.txt": "t",
    tempa: "t",
    "build/out.bin": "b",
    "dist/app.js": "a",
  };
  const all = [
    ".dockerignore",
    ...Object.keys(files),
    ...new Set(
      Object.keys(files).flatMap((file) =>
        file
          .split("/")
          .slice(0, -1)
          .map((_, index, parts) => `${parts.slice(0, index + 1).join("/")}/`),
      ),
    ),
  ];
  const allBut = (excluded: string[]) => all.filter((name) => !excluded.includes(name));
  const allUnder = (prefix: string) => all.filter((name) => name.startsWith(prefix));
  // What the Docker CLI sends for each .dockerignore, taken from Docker's documentation and
  // moby's tests; `null` means "everything".
  const cases: [title: string, ignore: string, sent: string[]][] = [
    [
      "a folder name excludes the folder only (whole segments)",
      "node_modules\n",
      [
        "CHANGES.md",
        "Dockerfile",
        "README-secret.md",
        "README.md",
        "build/",
        "build/out.bin",
        "dist/",
        "dist/app.js",
        "docs/",
        "docs/README.md",
        "docs/intro.md",
        "main.go",
        "node_modules-old/",
        "node_modules-old/index.js",
        "pkg/",
        "pkg/util.go",
        "pkg/util_test.go",
        "somedir/",
        "somedir/subdir/",
        "somedir/subdir/temp.txt",
        "somedir/temporary.txt",
        "src/",
        "src/node_modules/",
        "src/node_modules/inner.js",
        "tempa",
        ".dockerignore",
      ],
    ],
    [
      "*.md with a README.md exception (Docker docs)",
      "*\n!*.md\n*.md\n!README.md\n",
      ["Dockerfile", "README.md", ".dockerignore"],
    ],
    [
      "exceptions and re-exclusions in order (Docker docs)",
      "*\n!*.md\n*.md\n!README*.md\nREADME-secret.md\n",
      ["Dockerfile", "README.md", ".dockerignore"],
    ],
    [
      "an exception re-includes a file inside an excluded folder",
      "*\n!docs/README.md\n",
      ["Dockerfile", "docs/", "docs/README.md", ".dockerignore"],
    ],
    [
      "**/*.go everywhere, with an exception",
      "*\n!**/*.go\n**/*_test.go\n",
      ["Dockerfile", "main.go", "pkg/", "pkg/util.go", ".dockerignore"],
    ],
    [
      "*/temp* and */*/temp* and temp? (Docker docs)",
      "# comment\n*/temp*\n*/*/temp*\ntemp?\n",
      allBut(["somedir/temporary.txt", "somedir/subdir/temp.txt", "tempa"]),
    ],
    [
      "an exception for a folder re-includes everything below it (later patterns win)",
      "*/temp*\n*\n!somedir\n",
      ["Dockerfile", ".dockerignore", ...allUnder("somedir/")],
    ],
    [
      "leading / and ./ are relative to the context",
      "*\n!/build\n!./dist/app.js\n",
      ["Dockerfile", "build/", "build/out.bin", "dist/", "dist/app.js", ".dockerignore"],
    ],
    [
      "the Dockerfile and .dockerignore are sent even when ignored",
      ".dockerignore\nDockerfile\n*\n",
      ["Dockerfile", ".dockerignore"],
    ],
    [
      "**/node_modules excludes nested folders too",
      "*\n!src\n!node_modules\n**/node_modules\n",
      ["Dockerfile", "src/", ".dockerignore"],
    ],
  ];

  it.each(cases)("%s", async (_title, ignore, sent) => {
    const dir = await tree(await tempDir(), { ...files, ".dockerignore": ignore });
    const { names } = await pack(dir);
    expect([...names].sort()).toEqual([...sent].sort());
  });

  it("never reads a folder that is excluded with no exception below it", async () => {
    const dir = await tree(await tempDir(), {
      ...files,
      ".dockerignore": "node_modules\n!src/keep\n",
    });
    const listed: string[] = [];
    const fs: BuildContextFs = {
      ...nodeFs,
      readdirSync: ((target: string, options: { withFileTypes: true }) => {
        listed.push(path.relative(nodeFs.realpathSync(dir), target));
        return nodeFs.readdirSync(target, options);
      }) as typeof nodeFs.readdirSync,
    };
    const { names } = await pack(dir, { fs });
    expect(names).not.toContain("node_modules/");
    expect(listed).not.toContain("node_modules");
    expect(listed).toContain("node_modules-old");
  });

  it("prefers <Dockerfile>.dockerignore next to a custom Dockerfile", async () => {
    const dir = await tree(await tempDir(), {
      "docker/app.Dockerfile": "FROM busybox\n",
      "docker/app.Dockerfile.dockerignore": "*\n!b.txt\n",
      ".dockerignore": "b.txt\n",
      "a.txt": "a",
      "b.txt": "b",
    });
    const { names, context } = await pack(dir, { dockerfile: "docker/app.Dockerfile" });
    expect(context.dockerfile).toBe("docker/app.Dockerfile");
    expect(names).toEqual([".dockerignore", "b.txt", "docker/", "docker/app.Dockerfile"]);
  });

  it("sends a custom Dockerfile that sits in an excluded folder", async () => {
    const dir = await tree(await tempDir(), {
      "ci/build/Dockerfile.ci": "FROM busybox\n",
      "ci/other.txt": "o",
      ".dockerignore": "ci\n",
      "a.txt": "a",
    });
    const { names } = await pack(dir, { dockerfile: "ci/build/Dockerfile.ci" });
    expect(names).toEqual([".dockerignore", "a.txt", "ci/", "ci/build/", "ci/build/Dockerfile.ci"]);
  });

  it("falls back to a lower-case dockerfile like the CLI", async () => {
    const dir = await tree(await tempDir(), {
      dockerfile: "FROM busybox\n",
      ".dockerignore": "*\n",
    });
    const { names, context } = await pack(dir);
    expect(context.dockerfile).toBe("dockerfile");
    expect(names).toEqual([".dockerignore", "dockerfile"]);
  });

  it("rejects a malformed .dockerignore, naming the file", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x", ".dockerignore": "a[\n" });
    const error = await createBuildContext(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as BuildContextError).path).toBe(
      path.join(nodeFs.realpathSync(dir), ".dockerignore"),
    );
    expect((error as Error).cause).toBeInstanceOf(InvalidArgumentError);
  });
});
