/**
 * Reading an image the engine exports (`GET /images/{id}/get`, what `docker save` writes) into
 * what a registry push needs: the config's exact bytes and each layer, gzipped only when the
 * registry needs its bytes. Entry names are only looked up, never used as file paths; large
 * layers are spooled to private files.
 * @module
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { BuildError } from "../errors.js";
import { crypto, zlib } from "../lazy-builtins.js";
import { sha256Digest } from "./image-index.js";
import type { BlobSource } from "./registry-client.js";

/** Entries up to this size are kept in memory (configs, small layers); larger ones are spooled. */
const IN_MEMORY_BYTES = 4 * 1024 * 1024;
/** Largest `manifest.json` read. */
const MAX_MANIFEST_JSON_BYTES = 1024 * 1024;
/** Most entries an export may have: an image of 127 layers has about 400. */
const MAX_ENTRIES = 20_000;
/** Most symlinks followed to reach one layer (`docker save` links repeated layers once). */
const MAX_LINK_DEPTH = 8;

/** A layer gzip-compressed, as the engine compresses it for a push: the blob to send. */
export interface CompressedLayer {
  readonly digest: string;
  readonly size: number;
  readonly source: BlobSource;
}

/** One layer of an exported image. */
export interface SavedLayer {
  /** `sha256:` of the uncompressed tar, as the config's `rootfs.diff_ids` lists it. */
  readonly diffId: string;
  /**
   * Compresses the layer (once: later calls share the first's result). Compression costs a core
   * at tens of MB/s, so a layer the registry already has is never compressed.
   */
  compress(): Promise<CompressedLayer>;
}

/** An exported image. Dispose it to remove its spooled layers. */
export interface SavedImage extends AsyncDisposable {
  /** The config exactly as the engine stores it. */
  readonly config: Buffer;
  /** The config's digest: the image ID. */
  readonly configDigest: string;
  /** The layers, lowest first. */
  readonly layers: readonly SavedLayer[];
}

/** Options of {@link readSavedImage}. */
export interface ReadSavedImageOptions {
  readonly signal?: AbortSignal | undefined;
  /** Called as data arrives (to keep an inactivity timer alive). */
  readonly onActivity?: (() => void) | undefined;
  /** Where the private spool folder is made. @default os.tmpdir() */
  readonly tmpdir?: string | undefined;
}

interface Entry {
  readonly rawDigest: string;
  readonly bytes?: Buffer;
  readonly spooled?: { readonly file: string; readonly size: number };
}

/** A blob whose bytes are in memory. */
export function fromMemory(bytes: Buffer): BlobSource {
  return { size: bytes.length, open: (start, end) => Readable.from([bytes.subarray(start, end)]) };
}

function fromFile(file: string, size: number): BlobSource {
  return {
    size,
    open: (start, end) =>
      end <= start ? Readable.from([]) : createReadStream(file, { start, end: end - 1 }),
  };
}

/** A tar entry name as a clean relative path, or `undefined` for one that leaves the archive. */
function entryName(name: string): string | undefined {
  const normalized = path.posix.normalize(name.replace(/^\.\//, ""));
  if (normalized.startsWith("../") || normalized === ".." || normalized.startsWith("/")) {
    return undefined;
  }
  return normalized.replace(/\/$/, "");
}

function invalid(imageId: string, problem: string): BuildError {
  return new BuildError(`The engine's export of ${imageId} cannot be pushed: ${problem}`);
}

/**
 * Reads a `docker save` tar of one image (the engine's legacy layout, `<id>/layer.tar` with
 * `manifest.json`, or the OCI layout newer engines write, `blobs/sha256/<hex>`) and checks it: the
 * config's digest must be `imageId`, and the layers' digests its `rootfs.diff_ids`, in order.
 *
 * @throws BuildError when the export is not what the engine should have sent.
 */
export async function readSavedImage(
  tar: Readable,
  imageId: string,
  options: ReadSavedImageOptions = {},
): Promise<SavedImage> {
  const { signal, onActivity } = options;
  signal?.throwIfAborted();
  // modern-tar: a streaming tar reader with no dependencies (tar-stream would bring a dozen
  // packages and 6 MB of Bare runtime shims to every install).
  const { createTarDecoder } = await import("modern-tar");
  const spool = await mkdtemp(path.join(options.tmpdir ?? tmpdir(), "prefect-dockerutils-layers-"));
  const remove = () => rm(spool, { recursive: true, force: true });
  const decoded = (Readable.toWeb(tar) as ReadableStream<Uint8Array>).pipeThrough(
    createTarDecoder({ strict: true }),
    signal ? { signal } : {},
  );
  const extractor = decoded.getReader();
  try {
    const entries = new Map<string, Entry>();
    const links = new Map<string, string>();
    let manifestJson: Buffer | undefined;
    let count = 0;
    for (;;) {
      const next = await extractor.read();
      if (next.done) break;
      const entry = next.value;
      count++;
      if (count > MAX_ENTRIES) throw invalid(imageId, `it has more than ${MAX_ENTRIES} entries`);
      const { header } = entry;
      const name = entryName(header.name);
      if (name !== undefined && header.type === "symlink" && header.linkname) {
        const target = entryName(path.posix.join(path.posix.dirname(name), header.linkname));
        if (target !== undefined) links.set(name, target);
      }
      if (
        name === undefined ||
        (header.type ?? "file") !== "file" ||
        /(^|\/)(VERSION|json|repositories|oci-layout|index\.json)$/.test(name)
      ) {
        await drain(entry.body);
      } else if (name === "manifest.json") {
        manifestJson = await collect(chunksOf(entry.body), MAX_MANIFEST_JSON_BYTES, onActivity);
        if (manifestJson === undefined) throw invalid(imageId, "its manifest.json is too large");
      } else if ((header.size ?? 0) <= IN_MEMORY_BYTES) {
        const bytes = await collect(chunksOf(entry.body), IN_MEMORY_BYTES, onActivity);
        if (bytes === undefined) throw invalid(imageId, `${name} is longer than its header says`);
        entries.set(name, { rawDigest: sha256Digest(bytes), bytes });
      } else {
        const file = path.join(spool, String(count));
        const { digest, size } = await writeHashed(
          [Readable.from(chunksOf(entry.body))],
          file,
          onActivity,
        );
        entries.set(name, { rawDigest: digest, spooled: { file, size } });
      }
    }
    signal?.throwIfAborted();
    if (manifestJson === undefined) throw invalid(imageId, "it has no manifest.json");
    const { configName, layerNames } = parseManifestJson(manifestJson, imageId);
    const resolve = (name: string): Entry | undefined => {
      let current = entryName(name);
      for (let depth = 0; current !== undefined && depth <= MAX_LINK_DEPTH; depth++) {
        const found = entries.get(current);
        if (found) return found;
        current = links.get(current);
      }
      return undefined;
    };
    const configEntry = resolve(configName);
    if (!configEntry?.bytes)
      throw invalid(imageId, `its config ${configName} is missing or too large`);
    const config = configEntry.bytes;
    if (configEntry.rawDigest !== imageId) {
      throw invalid(imageId, `its config's digest is ${configEntry.rawDigest}`);
    }
    const diffIds = diffIdsOf(config, imageId);
    if (diffIds.length !== layerNames.length) {
      throw invalid(
        imageId,
        `its config lists ${diffIds.length} layers and its manifest ${layerNames.length}`,
      );
    }
    const byDiffId = new Map<string, SavedLayer>();
    const layers: SavedLayer[] = [];
    for (const [index, layerName] of layerNames.entries()) {
      const layer = resolve(layerName);
      if (!layer) throw invalid(imageId, `its layer ${layerName} is missing`);
      if (layer.rawDigest !== diffIds[index]) {
        throw invalid(
          imageId,
          `its layer ${layerName} has the digest ${layer.rawDigest}, not ${diffIds[index]}`,
        );
      }
      let saved = byDiffId.get(layer.rawDigest);
      if (saved === undefined) {
        saved = lazyLayer(layer, spool, `${index}.gz`);
        byDiffId.set(layer.rawDigest, saved);
      }
      layers.push(saved);
    }
    return {
      config,
      configDigest: imageId,
      layers,
      [Symbol.asyncDispose]: remove,
    };
  } catch (error) {
    await extractor.cancel().catch(() => undefined);
    tar.destroy();
    await remove();
    throw signal?.aborted ? signal.reason : error;
  }
}

/**
 * Reads an entry's body to its end, to get to the next entry. Not `cancel()`: with modern-tar
 * 0.8.7, a body cancelled before its end leaves a later entry's body stalled for good (seen with
 * `docker save` output: the layer after a cancelled `VERSION` never delivered its second chunk).
 */
async function drain(body: ReadableStream<Uint8Array>): Promise<void> {
  for await (const _chunk of body) {
    // Nothing to keep.
  }
}

/** An entry body's chunks as Buffers (views, not copies). */
async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncIterable<Buffer> {
  for await (const chunk of body) {
    yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

/** An entry's bytes, or `undefined` when it holds more than `max`. */
async function collect(
  entry: AsyncIterable<Buffer>,
  max: number,
  onActivity: (() => void) | undefined,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of entry) {
    onActivity?.();
    size += chunk.length;
    // Read to the end even when over: the next entry starts after it.
    if (size > max) over = true;
    else chunks.push(chunk);
  }
  return over ? undefined : Buffer.concat(chunks);
}

/** Writes what `streams` make into a private `file`, hashing it on the way: its digest and size. */
async function writeHashed(
  streams: NodeJS.ReadableStream[],
  file: string,
  onActivity?: () => void,
): Promise<{ digest: string; size: number }> {
  const hash = crypto().createHash("sha256");
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onActivity?.();
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline([...streams, hashing, createWriteStream(file, { mode: 0o600 })]);
  return { digest: `sha256:${hash.digest("hex")}`, size };
}

/** A layer compressed when first asked: in memory if small, else from its spool file to a `.gz`. */
function lazyLayer(entry: Entry, spool: string, name: string): SavedLayer {
  let compressed: Promise<CompressedLayer> | undefined;
  const compress = async (): Promise<CompressedLayer> => {
    if (!entry.spooled) {
      const bytes = await promisify(zlib().gzip)(entry.bytes as Buffer);
      return { digest: sha256Digest(bytes), size: bytes.length, source: fromMemory(bytes) };
    }
    const file = path.join(spool, name);
    const written = await writeHashed(
      [createReadStream(entry.spooled.file), zlib().createGzip()],
      file,
    );
    return { ...written, source: fromFile(file, written.size) };
  };
  return {
    diffId: entry.rawDigest,
    compress: () => {
      compressed ??= compress();
      return compressed;
    },
  };
}

/** `manifest.json`'s one image: its config and layer paths. */
function parseManifestJson(
  bytes: Buffer,
  imageId: string,
): { configName: string; layerNames: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw invalid(imageId, "its manifest.json is not JSON");
  }
  const images = Array.isArray(parsed) ? parsed : [];
  const image = images[0] as { Config?: unknown; Layers?: unknown } | undefined;
  if (images.length !== 1 || typeof image?.Config !== "string" || !Array.isArray(image.Layers)) {
    throw invalid(imageId, "its manifest.json does not describe exactly one image");
  }
  const layerNames = image.Layers.filter((layer): layer is string => typeof layer === "string");
  if (layerNames.length !== image.Layers.length) {
    throw invalid(imageId, "its manifest.json lists a layer that is not a path");
  }
  return { configName: image.Config, layerNames };
}

/** The config's `rootfs.diff_ids`. */
function diffIdsOf(config: Buffer, imageId: string): string[] {
  let parsed: { rootfs?: { diff_ids?: unknown } };
  try {
    parsed = JSON.parse(config.toString("utf8")) as typeof parsed;
  } catch {
    throw invalid(imageId, "its config is not JSON");
  }
  const ids = parsed?.rootfs?.diff_ids ?? [];
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
    throw invalid(imageId, "its config's rootfs.diff_ids is not a list of digests");
  }
  return ids as string[];
}
