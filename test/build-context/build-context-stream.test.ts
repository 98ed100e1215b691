import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import nodeFs from "node:fs";
import { writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import {
  type BuildContextOptions,
  createBuildContext,
} from "../../src/build-context/build-context.js";
import type { BuildContextFs } from "../../src/build-context/context-fs.js";
import { BuildContextError, InvalidArgumentError } from "../../src/errors.js";
import { errorOf } from "../support/context-tar.js";
import { tempDir, tree } from "../support/files.js";

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

  /** An HTTP server on a unix socket collecting one request's body, and that request. */
  async function httpSink(
    dir: string,
  ): Promise<{ request: http.ClientRequest; received: Promise<Buffer> }> {
    const socketPath = path.join(dir, `http-${randomBytes(4).toString("hex")}.sock`);
    const chunks: Buffer[] = [];
    const server = http.createServer();
    const received = new Promise<Buffer>((resolve) =>
      server.once("request", (incoming: http.IncomingMessage, response: http.ServerResponse) => {
        incoming.on("data", (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
        incoming.on("end", () => {
          response.end();
          resolve(Buffer.concat(chunks));
        });
      }),
    );
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const request = http.request({ socketPath, method: "POST", path: "/build" });
    request.on("response", (response) => response.resume());
    return { request, received };
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

  /** Chunks of 1 MiB allocated while `send` runs. */
  async function chunkAllocations(send: () => Promise<Buffer>): Promise<number> {
    const allocations = vi.spyOn(Buffer, "allocUnsafe");
    onTestFinished(() => allocations.mockRestore());
    await send();
    const count = allocations.mock.calls.filter(([size]) => size === 1024 * 1024).length;
    allocations.mockRestore();
    return count;
  }

  it("recycles chunk memory when its one consumer is a pipe into an HTTP request, as the engine connection's", async () => {
    const dir = await contextWithBigFile();
    const { request, received } = await httpSink(dir);
    const allocations = vi.spyOn(Buffer, "allocUnsafe");
    onTestFinished(() => allocations.mockRestore());
    const { stream, entries } = await createBuildContext(dir);
    stream.pipe(request);
    const sent = await received;
    const chunkAllocations = allocations.mock.calls.filter(([size]) => size === 1024 * 1024);
    allocations.mockRestore();
    expect(sent.equals(await plainBytes(dir))).toBe(true);
    expect((await entries).map((entry) => entry.name)).toContain("big.bin");
    // Eight chunks of output from no more than a handful of allocations.
    expect(sent.length).toBeGreaterThan(7 * 1024 * 1024);
    expect(chunkAllocations.length).toBeLessThan(7);
  });

  it("recycles chunk memory when the caller pipes it into a socket itself", async () => {
    const dir = await contextWithBigFile();
    const { socket, received } = await socketPair(dir);
    const { stream } = await createBuildContext(dir);
    let sent: Buffer = Buffer.alloc(0);
    const allocated = await chunkAllocations(async () => {
      stream.pipe(socket);
      sent = await received;
      return sent;
    });
    expect(sent.equals(await plainBytes(dir))).toBe(true);
    expect(allocated).toBeLessThan(7);
  });

  it("reuses nothing once a second pipe is attached, and both destinations get every byte after it", async () => {
    const dir = await contextWithBigFile();
    const first = await socketPair(dir);
    const kept: Buffer[] = [];
    const second = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        kept.push(chunk); // keeps the chunk itself, as a collecting consumer may
        callback();
      },
    });
    const { stream } = await createBuildContext(dir);
    let sent: Buffer = Buffer.alloc(0);
    const allocated = await chunkAllocations(async () => {
      stream.pipe(first.socket);
      stream.pipe(second);
      sent = await first.received;
      return sent;
    });
    expect(sent.equals(await plainBytes(dir))).toBe(true);
    expect(
      Buffer.concat(kept).equals(sent.subarray(sent.length - Buffer.concat(kept).length)),
    ).toBe(true);
    expect(allocated).toBeGreaterThanOrEqual(7);
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

  it.each([
    ["gzip", { gzip: "yes" }, /gzip must be true or false, got "yes"/],
    ["signal", { signal: "stop" }, /signal must be an AbortSignal/],
    ["onChunk", { onChunk: 42 }, /onChunk must be a function, got 42/],
    ["fs", { fs: "node:fs" }, /fs must be an object of node:fs functions, got a string/],
  ])("rejects a bad %s option naming it, before any I/O", async (_name, options, message) => {
    const bad = options as unknown as BuildContextOptions;
    const error = await createBuildContext("/nonexistent-context", bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(message);
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
