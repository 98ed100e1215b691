// BuildKit's file sync: which paths the engine's patterns select, the walk the sender lists,
// and the DiffCopy protocol against a receiver that behaves as fsutil's does.

import { execFileSync } from "node:child_process";
import { chmodSync, linkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createBuildContext } from "../../src/build-context/build-context.js";
import { parseDockerignore } from "../../src/build-context/dockerignore.js";
import { FRAME_HEADER } from "../../src/buildkit/data-frame.js";
import { type PacketChannel, sendDiffCopy } from "../../src/buildkit/diff-copy.js";
import {
  Packet,
  Packet_PacketType as PacketType,
} from "../../src/buildkit/generated/github.com/tonistiigi/fsutil/types/wire.js";
import { type SyncEntry, walkSyncTree } from "../../src/buildkit/sync-tree.js";
import { BuildContextError } from "../../src/errors.js";
import { tempDir, tree } from "../support/files.js";

/** The entries of a walk as `type name`, for readable expectations. */
const names = (entries: Iterable<SyncEntry>) =>
  [...entries].map((entry) => `${entry.type === "directory" ? "d" : entry.type[0]} ${entry.name}`);

describe("walkSyncTree", () => {
  it("lists folders before what they hold, names in byte order, symlinks as links", async () => {
    const root = await tempDir();
    await tree(root, { "b.txt": "b", "a/x.txt": "x", "a.txt": "a", "Z.txt": "z", "é.txt": "e" });
    symlinkSync("/etc/passwd", path.join(root, "link"));
    expect(names(walkSyncTree({ root }))).toEqual([
      "f Z.txt",
      "d a",
      "f a/x.txt",
      "f a.txt",
      "f b.txt",
      "s link",
      "f é.txt",
    ]);
    const link = [...walkSyncTree({ root })].find((entry) => entry.name === "link");
    expect(link).toMatchObject({ type: "symlink", linkname: "/etc/passwd", size: 11 });
  });

  it("keeps exact modes and nanosecond times, sends hard links once, skips FIFOs", async () => {
    const root = await tempDir();
    await tree(root, { "run.sh": "#!/bin/sh\n", "data.txt": "data" });
    chmodSync(path.join(root, "run.sh"), 0o4751);
    utimesSync(path.join(root, "data.txt"), 1_700_000_000.123456, 1_700_000_000.123456);
    linkSync(path.join(root, "data.txt"), path.join(root, "same.txt"));
    execFileSync("mkfifo", [path.join(root, "pipe")]);
    const entries = [...walkSyncTree({ root })];
    expect(names(entries)).toEqual(["f data.txt", "f run.sh", "l same.txt"]);
    const [data, run, same] = entries;
    expect(run?.mode).toBe(0o4751);
    expect(same).toMatchObject({ linkname: "data.txt", size: 0 });
    expect(Number((data?.mtimeNs ?? 0n) / 1000n)).toBe(1_700_000_000_123_456);
  });

  it("applies exclude patterns with .dockerignore semantics, exceptions re-including files", async () => {
    const root = await tempDir();
    await tree(root, {
      "node_modules/a/index.js": "",
      "docs/intro.md": "",
      "docs/README.md": "",
      "src/app.ts": "",
      "src/app.test.ts": "",
    });
    const excludes = parseDockerignore("node_modules\ndocs\n!docs/README.md\n**/*.test.ts\n");
    expect(names(walkSyncTree({ root }, { excludes }))).toEqual([
      "d docs",
      "f docs/README.md",
      "d src",
      "f src/app.ts",
    ]);
  });

  it("sends the same files as the classic build context for the same .dockerignore", async () => {
    const root = await tempDir();
    await tree(root, {
      ".dockerignore": "*.log\n!keep.log\nbuild/\n**/secret*\n",
      Dockerfile: "FROM busybox\n",
      "a.log": "",
      "keep.log": "",
      "build/out.bin": "",
      "src/secret.key": "",
      "src/lib/main.js": "",
      "src/lib/secretive/x": "",
      "empty/": "",
    });
    const context = await createBuildContext(root);
    context.stream.resume();
    const classic = (await context.entries).map((entry) => entry.name);
    const excludes = parseDockerignore("*.log\n!keep.log\nbuild/\n**/secret*\n");
    const synced = [...walkSyncTree({ root }, { excludes })].map((entry) => entry.name);
    // The classic context always carries the Dockerfile and .dockerignore (the engine needs
    // them and hides them from COPY when excluded); BuildKit reads them separately.
    expect(synced).toEqual(classic);
  });

  it("lays overlays over the context, unaffected by the exclude patterns", async () => {
    const root = await tempDir();
    const host = await tempDir();
    await tree(root, { "app/main.py": "old", "app/util.py": "util" });
    await tree(host, { "main.py": "new", "extra/data.csv": "1,2" });
    const entries = [
      ...walkSyncTree(
        {
          root,
          overlays: [
            { contextPath: "app/main.py", hostPath: path.join(host, "main.py") },
            { contextPath: "vendor/extra", hostPath: path.join(host, "extra") },
          ],
        },
        { excludes: ["vendor", "app/main.py"] },
      ),
    ];
    expect(names(entries)).toEqual([
      "d app",
      "f app/main.py",
      "f app/util.py",
      "d vendor",
      "d vendor/extra",
      "f vendor/extra/data.csv",
    ]);
    expect(entries[1]?.source).toBe(path.join(host, "main.py"));
  });

  it("walks only what the include patterns and follow paths name, without reading the rest", async () => {
    const root = await tempDir();
    await tree(root, {
      "build/Dockerfile.real": "FROM x\n",
      "big/a": "",
      "big/b": "",
      "other.txt": "",
    });
    symlinkSync("build/Dockerfile.real", path.join(root, "Dockerfile"));
    chmodSync(path.join(root, "big"), 0);
    try {
      expect(names(walkSyncTree({ root }, { followPaths: ["Dockerfile"] }))).toEqual([
        "s Dockerfile",
        "d build",
        "f build/Dockerfile.real",
      ]);
      expect(names(walkSyncTree({ root }, { includes: ["other.txt"] }))).toEqual(["f other.txt"]);
    } finally {
      chmodSync(path.join(root, "big"), 0o755);
    }
  });

  it("sends files made in memory", async () => {
    const root = await tempDir();
    await tree(root, { "fresh.txt": "fresh" });
    const entries = [
      ...walkSyncTree({
        root,
        files: [{ path: "made/in-memory.txt", content: Buffer.from("memory"), mtime: 1_000 }],
      }),
    ];
    expect(names(entries)).toEqual(["f fresh.txt", "d made", "f made/in-memory.txt"]);
    const fresh = entries[0] as SyncEntry;
    const { mtimeNs } = (await import("node:fs")).lstatSync(path.join(root, "fresh.txt"), {
      bigint: true,
    });
    expect(fresh.mtimeNs).toBe(mtimeNs);
    expect(entries[2]).toMatchObject({ mtimeNs: 1_000_000_000_000n, size: 6 });
    const receiver = new Receiver(() => true);
    await sendDiffCopy(receiver.channel, entries);
    expect(receiver.contentOf("made/in-memory.txt")).toBe("memory");
  });
});

/** A packet from the engine's side. */
const packet = (type: PacketType, id = 0, data = new Uint8Array(0)): Packet => ({
  type,
  stat: undefined,
  ID: id,
  data,
});

/**
 * The receiving side of DiffCopy as fsutil's receiver runs it: it reads every STAT, asks (REQ)
 * for the files `wanted` picks, collects their DATA, then sends FIN. Packets are read back with
 * the generated decoder of fsutil's own `Packet` (names as strings), as the engine reads them.
 */
class Receiver implements PacketChannel {
  readonly stats: Packet[] = [];
  readonly data = new Map<number, Buffer[]>();
  readonly frames: Buffer[] = [];
  readonly sent: Packet[] = [];
  readonly done = new Set<number>();
  readonly #controller = new AbortController();
  ended = false;
  #asked = 0;
  #onPacket: ((packet: Packet) => void) | undefined;
  constructor(private readonly wanted: (path: string) => boolean) {}

  get channel(): PacketChannel {
    return this;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The engine's side sends `packet`, on a later turn. */
  emit(packet: Packet): void {
    setImmediate(() => this.#onPacket?.(packet));
  }

  /** The engine cancels the call. */
  cancel(): void {
    this.#controller.abort();
  }

  listen(onPacket: (packet: Packet) => void): void {
    this.#onPacket = onPacket;
  }

  sendFrame(frame: Buffer, done: () => void): void {
    this.frames.push(frame);
    this.send(frame.subarray(FRAME_HEADER), done);
  }

  send(bytes: Uint8Array, done: () => void): void {
    setImmediate(done);
    const decoded = Packet.decode(bytes);
    this.sent.push(decoded);
    if (decoded.type === PacketType.PACKET_STAT) {
      if (decoded.stat === undefined) {
        this.#requestAll();
        return;
      }
      this.stats.push(decoded);
    } else if (decoded.type === PacketType.PACKET_DATA) {
      if (decoded.data.length) {
        this.data.set(decoded.ID, [
          ...(this.data.get(decoded.ID) ?? []),
          Buffer.from(decoded.data),
        ]);
      } else {
        this.done.add(decoded.ID);
        if (this.done.size === this.#asked) this.emit(packet(PacketType.PACKET_FIN));
      }
    }
  }

  end(): void {
    this.ended = true;
  }

  #requestAll(): void {
    const ids = this.stats
      .map((stat, index) => ({ stat, index }))
      .filter(
        ({ stat }) => (stat.stat?.mode ?? 0) >>> 24 === 0 && this.wanted(stat.stat?.path ?? ""),
      );
    this.#asked = ids.length;
    if (ids.length === 0) {
      this.emit(packet(PacketType.PACKET_FIN));
      return;
    }
    for (const { index } of ids) this.emit(packet(PacketType.PACKET_REQ, index));
  }

  contentOf(path: string): string {
    const index = this.stats.findIndex((stat) => stat.stat?.path === path);
    return Buffer.concat(this.data.get(index) ?? []).toString();
  }
}

describe("sendDiffCopy", () => {
  it("lists every entry, sends only the files asked for, and ends with FIN", async () => {
    const root = await tempDir();
    await tree(root, { "a.txt": "alpha", "dir/b.txt": "bravo", "dir/c.txt": "" });
    const receiver = new Receiver((p) => p !== "a.txt");
    const stats = await sendDiffCopy(receiver.channel, walkSyncTree({ root }));
    expect(receiver.stats.map((packet) => packet.stat?.path)).toEqual([
      "a.txt",
      "dir",
      "dir/b.txt",
      "dir/c.txt",
    ]);
    expect(receiver.contentOf("dir/b.txt")).toBe("bravo");
    expect(receiver.contentOf("a.txt")).toBe("");
    expect(stats).toEqual({ entries: 4, files: 2, bytes: 5 });
    expect(receiver.ended).toBe(true);
  });

  it("sends big files in pieces that decode as protobuf DATA packets", async () => {
    const root = await tempDir();
    const big = Buffer.alloc(700 * 1024 + 3, 7);
    big.write("start", 0);
    big.write("end", big.length - 3);
    writeFileSync(path.join(root, "big.bin"), big);
    const receiver = new Receiver(() => true);
    const stats = await sendDiffCopy(receiver.channel, walkSyncTree({ root }));
    expect(stats.bytes).toBe(big.length);
    // Buffer.equals: a deep toEqual walks 700,000 bytes one by one.
    expect(Buffer.concat(receiver.data.get(0) ?? []).equals(big)).toBe(true);
    // Three 256 KiB pieces, framed in place.
    expect(receiver.frames.length).toBe(3);
  });

  it("sends files up to 8 KiB as packets the channel copies, bigger ones in frames of their own", async () => {
    const root = await tempDir();
    const sizes = { "a.txt": 10, "b.bin": 8 * 1024, "c.bin": 8 * 1024 + 1, "d.txt": 3 };
    const contents = Object.fromEntries(
      Object.entries(sizes).map(([name, size], index) => [
        name,
        Buffer.alloc(size, 97 + index).toString(),
      ]),
    );
    await tree(root, contents);
    const receiver = new Receiver(() => true);
    await sendDiffCopy(receiver.channel, walkSyncTree({ root }));
    // One buffer is reused for every small file: each must arrive as it was read.
    for (const [name, content] of Object.entries(contents)) {
      expect(receiver.contentOf(name)).toBe(content);
    }
    expect(receiver.frames.map((frame) => frame.length - FRAME_HEADER)).toEqual([
      2 + 2 + 1 + 2 + 8 * 1024 + 1,
    ]);
  });

  it("fails with a BuildContextError, and tells the receiver, when a file vanished", async () => {
    const root = await tempDir();
    await tree(root, { "gone.txt": "soon gone" });
    const receiver = new Receiver(() => true);
    const entries = walkSyncTree({ root });
    const walked = [...entries];
    rmSync(path.join(root, "gone.txt"));
    const error = await sendDiffCopy(receiver.channel, walked).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as BuildContextError).path).toBe(path.join(root, "gone.txt"));
    expect(receiver.sent.at(-1)?.type).toBe(PacketType.PACKET_ERR);
    expect(Buffer.from(receiver.sent.at(-1)?.data ?? []).toString()).toContain("gone.txt");
  });

  it.each([
    ["a folder", 1],
    ["an index past the last entry", 3],
    ["a file already sent", 0],
  ])("refuses a request for %s, telling the receiver", async (_case, id) => {
    const root = await tempDir();
    await tree(root, { "a.txt": "a", "dir/b.txt": "b" });
    const receiver = new Receiver(() => true);
    const send = receiver.send.bind(receiver);
    receiver.send = (bytes, done) => {
      send(bytes, done);
      const decoded = Packet.decode(bytes);
      // After the listing: the file a.txt (index 0) first when it is the one asked twice.
      if (decoded.type === PacketType.PACKET_STAT && decoded.stat === undefined) {
        if (id === 0) receiver.emit(packet(PacketType.PACKET_REQ, 0));
        receiver.emit(packet(PacketType.PACKET_REQ, id));
      }
    };
    await expect(sendDiffCopy(receiver.channel, walkSyncTree({ root }))).rejects.toThrow(
      `invalid file id ${id}`,
    );
    expect(receiver.sent.at(-1)?.type).toBe(PacketType.PACKET_ERR);
  });

  it("rejects with the receiver's error and when the engine cancels the call", async () => {
    const root = await tempDir();
    await tree(root, { "a.txt": "a" });
    const failing = new Receiver(() => true);
    failing.send = () => failing.emit(packet(PacketType.PACKET_ERR, 0, Buffer.from("disk full")));
    await expect(sendDiffCopy(failing.channel, walkSyncTree({ root }))).rejects.toThrow(
      "error from receiver: disk full",
    );
    const cancelled = new Receiver(() => true);
    cancelled.send = () => setImmediate(() => cancelled.cancel());
    await expect(sendDiffCopy(cancelled.channel, walkSyncTree({ root }))).rejects.toThrow(
      "the engine ended the file transfer before it finished",
    );
  });

  it("stops at once when aborted", async () => {
    const root = await tempDir();
    await tree(root, { "a.txt": "a" });
    const receiver = new Receiver(() => true);
    receiver.send = () => undefined;
    const controller = new AbortController();
    const sending = sendDiffCopy(receiver.channel, walkSyncTree({ root }), {
      signal: controller.signal,
    });
    controller.abort(new Error("stop"));
    await expect(sending).rejects.toThrow("stop");
  });

  it("waits for the connection once too much is unwritten, and lists 20,000 entries", async () => {
    const entries = Array.from({ length: 20_000 }, (_, index) => ({
      name: `f${String(index).padStart(5, "0")}`,
      type: "file" as const,
      mode: 0o644,
      size: 0,
      mtimeNs: 0n,
    }));
    let unwritten = 0;
    let most = 0;
    const receiver = new Receiver(() => false);
    const original = receiver.send.bind(receiver);
    receiver.send = (bytes, done) => {
      unwritten++;
      most = Math.max(most, unwritten);
      original(bytes, () => {
        unwritten--;
        done();
      });
    };
    const stats = await sendDiffCopy(receiver.channel, entries);
    expect(stats.entries).toBe(20_000);
    expect(most).toBeLessThanOrEqual(4097);
  });
});
