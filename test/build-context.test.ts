import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import nodeFs from "node:fs";
import { chmod, link, symlink, utimes, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";
import { describe, expect, expectTypeOf, it, onTestFinished, vi } from "vitest";
import {
  type BuildContext,
  type BuildContextEntry,
  type BuildContextFs,
  createBuildContext,
} from "../src/context/build-context.js";
import { MAX_CONTROL_FILE_BYTES } from "../src/defaults.js";
import { BuildContextError, InvalidArgumentError } from "../src/errors.js";
import { cliContext } from "./support/cli-context.js";
import { tempDir, tree } from "./support/files.js";

interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtime: number;
  linkname: string | null;
  data: string;
}

async function untar(stream: Readable): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const extractor = extract();
  const done = new Promise<void>((resolve, reject) => {
    extractor.on("entry", (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on("data", (chunk: unknown) => {
        chunks.push(chunk as Buffer);
      });
      body.on("end", () => {
        entries.push({
          name: header.name,
          type: header.type ?? "file",
          mode: header.mode ?? 0,
          uid: header.uid ?? -1,
          gid: header.gid ?? -1,
          uname: header.uname ?? "",
          gname: header.gname ?? "",
          size: header.size ?? 0,
          mtime: Math.floor((header.mtime?.getTime() ?? 0) / 1000),
          linkname: header.linkname ?? null,
          data: Buffer.concat(chunks).toString("utf8"),
        });
        next();
      });
    });
    extractor.on("finish", resolve);
    extractor.on("error", reject);
    stream.on("error", reject);
  });
  stream.pipe(extractor);
  await done;
  return entries;
}

async function pack(dir: string, options?: Parameters<typeof createBuildContext>[1]) {
  const context = await createBuildContext(dir, options);
  const entries = await untar(context.stream);
  return { context, entries, names: entries.map((entry) => entry.name) };
}

async function errorOf(stream: Readable): Promise<unknown> {
  try {
    for await (const _ of stream) {
      // drain
    }
  } catch (error) {
    return error;
  }
  throw new Error("the stream ended without an error");
}

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
    expectTypeOf(context).toEqualTypeOf<BuildContext>();
    expectTypeOf(listed).toEqualTypeOf<readonly BuildContextEntry[]>();
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

describe("createBuildContext: an ordinary Readable", () => {
  async function contextWithBigFile(): Promise<string> {
    const dir = await tree(await tempDir(), { Dockerfile: "FROM busybox\n", "z/small.txt": "s" });
    // Random bytes, so a chunk overwritten too early could not go unnoticed.
    await writeFile(path.join(dir, "big.bin"), randomBytes(7 * 1024 * 1024 + 123));
    return dir;
  }

  async function plainBytes(dir: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of (await createBuildContext(dir)).stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** A unix socket server collecting what it receives, and a client connected to it. */
  async function socketPair(
    dir: string,
  ): Promise<{ socket: net.Socket; received: Promise<Buffer> }> {
    const socketPath = path.join(dir, `sink-${randomBytes(4).toString("hex")}.sock`);
    const chunks: Buffer[] = [];
    const server = net.createServer();
    const received = new Promise<Buffer>((resolve) =>
      server.once("connection", (connection) => {
        connection.on("data", (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
        connection.on("end", () => resolve(Buffer.concat(chunks)));
      }),
    );
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const socket = net.connect(socketPath);
    return { socket, received };
  }

  it("loses no byte when the pipe is attached late, and reports progress through onChunk", async () => {
    const dir = await contextWithBigFile();
    const progress: number[] = [];
    const { stream } = await createBuildContext(dir, {
      onChunk: ({ bytes, totalBytes }) => {
        progress.push(bytes);
        expect(totalBytes).toBe(progress.reduce((sum, value) => sum + value, 0));
      },
    });
    // Longer than any slice: before the hook existed, the 'data' listener that fed progress
    // started the stream flowing and a pipe attached this late missed the first megabytes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { socket, received } = await socketPair(dir);
    stream.pipe(socket);
    const sent = await received;
    expect(sent.equals(await plainBytes(dir))).toBe(true);
    expect(progress.reduce((sum, value) => sum + value, 0)).toBe(sent.length);
  });

  it("recycles chunk memory when its one consumer is a pipe into a socket", async () => {
    const dir = await contextWithBigFile();
    const { socket, received } = await socketPair(dir);
    const allocations = vi.spyOn(Buffer, "allocUnsafe");
    onTestFinished(() => allocations.mockRestore());
    const { stream, entries } = await createBuildContext(dir);
    stream.pipe(socket);
    const sent = await received;
    const chunkAllocations = allocations.mock.calls.filter(([size]) => size === 1024 * 1024);
    allocations.mockRestore();
    expect(sent.equals(await plainBytes(dir))).toBe(true);
    expect((await entries).map((entry) => entry.name)).toContain("big.bin");
    // Eight chunks of output from no more than a handful of allocations.
    expect(sent.length).toBeGreaterThan(7 * 1024 * 1024);
    expect(chunkAllocations.length).toBeLessThan(7);
  });

  it("never reuses a chunk another 'data' listener may keep", async () => {
    const dir = await contextWithBigFile();
    const { socket, received } = await socketPair(dir);
    const { stream } = await createBuildContext(dir);
    const kept: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => kept.push(chunk));
    stream.pipe(socket);
    const sent = await received;
    expect(Buffer.concat(kept).equals(sent)).toBe(true);
    expect(sent.equals(await plainBytes(dir))).toBe(true);
  });

  it("behaves like a plain stream when piped anywhere else", async () => {
    const dir = await contextWithBigFile();
    const { stream } = await createBuildContext(dir);
    const kept: Buffer[] = [];
    const sink = new PassThrough();
    sink.on("data", (chunk: Buffer) => kept.push(chunk));
    const done = new Promise((resolve) => sink.on("end", resolve));
    stream.pipe(sink);
    await done;
    expect(Buffer.concat(kept).equals(await plainBytes(dir))).toBe(true);
  });

  it("destroys the stream with the error an onChunk hook throws", async () => {
    const dir = await contextWithBigFile();
    const failure = new Error("hook failed");
    const { stream, entries } = await createBuildContext(dir, {
      onChunk: () => {
        throw failure;
      },
    });
    expect(await errorOf(stream)).toBe(failure);
    await expect(entries).rejects.toBe(failure);
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
      BuildContextError,
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
      expect(error).toBeInstanceOf(BuildContextError);
      expect((error as BuildContextError).path).toBe(full);
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

describe("createBuildContext: failures", () => {
  it("rejects the stream, naming the file, when a file vanishes", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x", "a.txt": "a", "b.txt": "b" });
    const victim = path.join(nodeFs.realpathSync(dir), "b.txt");
    const fs: BuildContextFs = {
      ...nodeFs,
      lstatSync: ((target: string) => {
        const stats = nodeFs.lstatSync(target);
        if (target === victim) nodeFs.rmSync(victim);
        return stats;
      }) as typeof nodeFs.lstatSync,
    };
    const { stream, entries } = await createBuildContext(dir, { fs });
    const error = await errorOf(stream);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as BuildContextError).path).toBe(victim);
    expect((error as Error).message).toContain(victim);
    await expect(entries).rejects.toBe(error);
  });

  it("rejects when a file is replaced by a folder while being read", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x", "b.txt": "bbbb" });
    const victim = path.join(nodeFs.realpathSync(dir), "b.txt");
    const fs: BuildContextFs = {
      ...nodeFs,
      lstatSync: ((target: string) => {
        const stats = nodeFs.lstatSync(target);
        if (target === victim) {
          nodeFs.rmSync(victim);
          nodeFs.mkdirSync(victim);
        }
        return stats;
      }) as typeof nodeFs.lstatSync,
    };
    const error = await errorOf((await createBuildContext(dir, { fs })).stream);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as BuildContextError).path).toBe(victim);
  });

  it("rejects, without hanging, when a file is swapped for a FIFO after it was listed", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x", "b.txt": "bbbb" });
    const victim = path.join(nodeFs.realpathSync(dir), "b.txt");
    const fs: BuildContextFs = {
      ...nodeFs,
      lstatSync: ((target: string) => {
        const stats = nodeFs.lstatSync(target);
        if (target === victim) {
          nodeFs.rmSync(victim);
          execFileSync("mkfifo", [victim]);
        }
        return stats;
      }) as typeof nodeFs.lstatSync,
    };
    const error = await errorOf((await createBuildContext(dir, { fs })).stream);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as BuildContextError).path).toBe(victim);
  });

  it("rejects when a file shrinks while being read", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x", "b.txt": "bbbb" });
    const fs: BuildContextFs = {
      ...nodeFs,
      readSync: (() => 0) as typeof nodeFs.readSync,
    };
    const error = await errorOf((await createBuildContext(dir, { fs })).stream);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as Error).message).toMatch(/changed while the build context was read/);
  });

  it("rejects when a folder cannot be listed", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x", "sub/a": "a" });
    const sub = path.join(nodeFs.realpathSync(dir), "sub");
    const fs: BuildContextFs = {
      ...nodeFs,
      readdirSync: ((target: string, options: { withFileTypes: true }) => {
        if (target === sub) {
          throw Object.assign(new Error(`EACCES: permission denied, scandir '${sub}'`), {
            code: "EACCES",
            path: sub,
          });
        }
        return nodeFs.readdirSync(target, options);
      }) as typeof nodeFs.readdirSync,
    };
    const error = await errorOf((await createBuildContext(dir, { fs })).stream);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as BuildContextError).path).toBe(sub);
  });

  it("rejects a context directory that does not exist", async () => {
    const dir = await tempDir();
    await expect(createBuildContext(path.join(dir, "nope"))).rejects.toBeInstanceOf(
      BuildContextError,
    );
  });

  it("validates its arguments before any I/O", async () => {
    await expect(createBuildContext("")).rejects.toThrow(InvalidArgumentError);
    await expect(createBuildContext("/x", { dockerfile: "" })).rejects.toThrow(/dockerfile/);
  });
});

describe("createBuildContext: abort", () => {
  it("rejects at once with the reason when the signal is already aborted", async () => {
    const reason = new Error("stop");
    await expect(
      createBuildContext(await tempDir(), { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });

  it("destroys the stream with the signal's reason", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x" });
    const file = await nodeFs.promises.open(path.join(dir, "big.bin"), "w");
    await file.truncate(32 * 1024 * 1024);
    await file.close();
    const controller = new AbortController();
    const { stream, entries } = await createBuildContext(dir, { signal: controller.signal });
    const reason = new Error("cancelled");
    let caught: unknown;
    try {
      for await (const _ of stream) controller.abort(reason);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(reason);
    await expect(entries).rejects.toBe(reason);
  });

  it("also aborts a gzipped stream", async () => {
    const dir = await tree(await tempDir(), { Dockerfile: "x" });
    const controller = new AbortController();
    const { stream } = await createBuildContext(dir, { gzip: true, signal: controller.signal });
    const reason = new Error("cancelled");
    controller.abort(reason);
    expect(await errorOf(stream)).toBe(reason);
  });
});

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

/** Every PAX extended header block of a tar with its records, as hex, in order. */
function paxBlocks(tar: Buffer): string[] {
  const blocks: string[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = Number.parseInt(
      header.subarray(124, 136).toString("latin1").replace(/\0.*$/, "").trim() || "0",
      8,
    );
    const type = String.fromCharCode(header[156] as number);
    const dataSize = type === "0" || type === "x" ? size : 0;
    if (type === "x") {
      blocks.push(tar.subarray(at, at + 512 + Math.ceil(size / 512) * 512).toString("hex"));
    }
    at += 512 + Math.ceil(dataSize / 512) * 512;
  }
  return blocks;
}
