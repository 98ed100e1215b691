/**
 * Reading build context tars back in tests: tar-stream's extractor, and the raw PAX blocks for
 * byte-for-byte comparisons with the docker CLI.
 * @module
 */
import type { Readable } from "node:stream";
import { extract } from "tar-stream";
import { createBuildContext } from "../../src/build-context/build-context.js";

/** One entry as tar-stream reads it, with its data as text. */
export interface TarEntry {
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

/** Every entry of the tar `stream` carries. */
export async function untar(stream: Readable): Promise<TarEntry[]> {
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

/** Packs `dir` and reads the tar back. */
export async function pack(dir: string, options?: Parameters<typeof createBuildContext>[1]) {
  const context = await createBuildContext(dir, options);
  const entries = await untar(context.stream);
  return { context, entries, names: entries.map((entry) => entry.name) };
}

/** The error `stream` fails with; throws when it ends without one. */
export async function errorOf(stream: Readable): Promise<unknown> {
  try {
    for await (const _ of stream) {
      // drain
    }
  } catch (error) {
    return error;
  }
  throw new Error("the stream ended without an error");
}
/** Every PAX extended header block of a tar with its records, as hex, in order. */
export function paxBlocks(tar: Buffer): string[] {
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
