import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BuildError } from "../../src/errors.js";
import { readSavedImage, type SavedLayer } from "../../src/registry/saved-image.js";

const sha = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

type TarEntry = { name: string; content: Buffer | string } | { name: string; link: string };

/** A tar of `entries`, as a stream (what the engine's `GET /images/{id}/get` answers). */
function tarOf(entries: readonly TarEntry[]): Readable {
  const archive = pack();
  for (const entry of entries) {
    if ("link" in entry) {
      archive.entry({ name: entry.name, type: "symlink", linkname: entry.link });
    } else {
      archive.entry({ name: entry.name }, entry.content);
    }
  }
  archive.finalize();
  return Readable.from(archive as unknown as AsyncIterable<Buffer>);
}

/** A config listing `layers` as its diff IDs, and the image ID that makes. */
function configOf(layers: readonly Buffer[], extra: Record<string, unknown> = {}) {
  const config = Buffer.from(
    JSON.stringify({
      architecture: "arm64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map(sha) },
      ...extra,
    }),
  );
  return { config, imageId: sha(config), hex: sha(config).slice(7) };
}

/** `docker save`'s legacy layout (Docker 20.10): `<id>/layer.tar`, `<image id>.json`, manifest.json. */
function legacySave(layers: readonly Buffer[], config = configOf(layers)): TarEntry[] {
  const dirs = layers.map((_, i) => `${String(i).repeat(64)}`);
  return [
    ...layers.flatMap((layer, i) => [
      { name: `${dirs[i]}/VERSION`, content: "1.0" },
      { name: `${dirs[i]}/json`, content: "{}" },
      { name: `${dirs[i]}/layer.tar`, content: layer },
    ]),
    { name: `${config.hex}.json`, content: config.config },
    {
      name: "manifest.json",
      content: JSON.stringify([
        { Config: `${config.hex}.json`, RepoTags: null, Layers: dirs.map((d) => `${d}/layer.tar`) },
      ]),
    },
  ];
}

let spoolParent: string;
beforeEach(async () => {
  spoolParent = await mkdtemp(path.join(tmpdir(), "pdu-saved-image-test-"));
});
afterEach(async () => {
  await rm(spoolParent, { recursive: true, force: true });
});

async function read(entries: readonly TarEntry[], imageId: string, signal?: AbortSignal) {
  return readSavedImage(tarOf(entries), imageId, { tmpdir: spoolParent, signal });
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("readSavedImage", () => {
  it("reads the legacy layout: the config's exact bytes, each layer gzipped with its digest", async () => {
    const layers = [Buffer.from("first layer tar"), Buffer.from("second layer tar")];
    const config = configOf(layers);
    await using image = await read(legacySave(layers, config), config.imageId);
    expect(image.config.equals(config.config)).toBe(true);
    expect(image.configDigest).toBe(config.imageId);
    expect(image.layers.map((layer) => layer.diffId)).toEqual(layers.map(sha));
    for (const [i, layer] of image.layers.entries()) {
      const compressed = await layer.compress();
      const gz = await bytesOf(compressed.source.open(0, compressed.source.size));
      expect(gz.length).toBe(compressed.size);
      expect(sha(gz)).toBe(compressed.digest);
      expect(gunzipSync(gz).equals(layers[i] as Buffer)).toBe(true);
      // Compressed once: a second call shares the first's result.
      expect(await layer.compress()).toBe(compressed);
      // A range reads that part only (a chunk of an upload).
      const part = await bytesOf(compressed.source.open(2, 7));
      expect(part.equals(gz.subarray(2, 7))).toBe(true);
    }
  });

  it("reads a large layer that arrives in many small chunks after entries it skips, as an HTTP answer delivers it", async () => {
    const big = randomBytes(6 * 1024 * 1024);
    const config = configOf([big]);
    const whole = await bytesOf(tarOf(legacySave([big], config)));
    const chunks = Array.from({ length: Math.ceil(whole.length / 65536) }, (_, i) =>
      whole.subarray(i * 65536, (i + 1) * 65536),
    );
    const image = await readSavedImage(Readable.from(chunks), config.imageId, {
      tmpdir: spoolParent,
    });
    expect(image.layers.map((layer) => layer.diffId)).toEqual([sha(big)]);
    await image[Symbol.asyncDispose]();
  });

  it("spools a large layer to a private file, compresses it only when asked, and removes both when disposed", async () => {
    const big = randomBytes(5 * 1024 * 1024);
    const config = configOf([big]);
    const image = await read(legacySave([big], config), config.imageId);
    const [layer] = image.layers;
    expect(layer?.diffId).toBe(sha(big));
    const [spool] = await readdir(spoolParent);
    expect(await readdir(path.join(spoolParent, spool as string))).toHaveLength(1);
    const compressed = await (layer as SavedLayer).compress();
    expect(await readdir(path.join(spoolParent, spool as string))).toHaveLength(2);
    const gz = await bytesOf(compressed.source.open(0, compressed.size));
    expect(sha(gz)).toBe(compressed.digest);
    expect(gunzipSync(gz).equals(big)).toBe(true);
    expect(await readdir(spoolParent)).toHaveLength(1);
    await image[Symbol.asyncDispose]();
    expect(await readdir(spoolParent)).toEqual([]);
  });

  it("follows docker save's symlink for a layer an image has twice", async () => {
    const layer = Buffer.from("the same layer");
    const config = configOf([layer, layer]);
    const dirs = ["a".repeat(64), "b".repeat(64)];
    await using image = await read(
      [
        { name: `${dirs[0]}/layer.tar`, content: layer },
        { name: `${dirs[1]}/layer.tar`, link: `../${dirs[0]}/layer.tar` },
        { name: `${config.hex}.json`, content: config.config },
        {
          name: "manifest.json",
          content: JSON.stringify([
            { Config: `${config.hex}.json`, Layers: dirs.map((d) => `${d}/layer.tar`) },
          ]),
        },
      ],
      config.imageId,
    );
    expect(image.layers).toHaveLength(2);
    expect(image.layers[0]).toBe(image.layers[1]);
  });

  it("reads the OCI layout newer engines write (blobs/sha256/<hex>)", async () => {
    const layer = Buffer.from("an oci layer");
    const config = configOf([layer]);
    const blob = (bytes: Buffer) => `blobs/sha256/${sha(bytes).slice(7)}`;
    await using image = await read(
      [
        { name: "oci-layout", content: '{"imageLayoutVersion":"1.0.0"}' },
        { name: "index.json", content: "{}" },
        { name: blob(layer), content: layer },
        { name: blob(config.config), content: config.config },
        {
          name: "manifest.json",
          content: JSON.stringify([{ Config: blob(config.config), Layers: [blob(layer)] }]),
        },
      ],
      config.imageId,
    );
    expect(image.layers.map((l) => l.diffId)).toEqual([sha(layer)]);
  });

  it.each([
    [
      "a config whose digest is not the image ID",
      (layers: Buffer[]) => legacySave(layers),
      `sha256:${"f".repeat(64)}`,
      "its config's digest is",
    ],
    [
      "a layer that is not the config's diff ID",
      (layers: Buffer[]) => {
        const entries = legacySave(layers);
        return entries.map((entry) =>
          entry.name.endsWith("layer.tar") ? { ...entry, content: "tampered" } : entry,
        );
      },
      undefined,
      "has the digest",
    ],
    [
      "no manifest.json",
      (layers: Buffer[]) => legacySave(layers).filter((entry) => entry.name !== "manifest.json"),
      undefined,
      "it has no manifest.json",
    ],
    [
      "a manifest.json naming a layer that is not there",
      (layers: Buffer[]) => legacySave(layers).filter((entry) => !entry.name.endsWith("layer.tar")),
      undefined,
      "is missing",
    ],
    [
      "a layer reached through a name leaving the archive",
      (layers: Buffer[]) =>
        legacySave(layers).map((entry) =>
          entry.name.endsWith("layer.tar") ? { ...entry, name: "../outside/layer.tar" } : entry,
        ),
      undefined,
      "is missing",
    ],
  ])("refuses %s with a BuildError, and leaves no spool", async (_name, make, id, message) => {
    const layers = [Buffer.from("layer")];
    const imageId = id ?? configOf(layers).imageId;
    const error = await read(make(layers), imageId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).toContain(message);
    expect(await readdir(spoolParent)).toEqual([]);
  });

  it("rejects with the signal's reason when cancelled, and leaves no spool", async () => {
    const controller = new AbortController();
    const reason = new Error("cancelled");
    const endless = new Readable({
      read() {
        // A tar header that never ends: the reader waits for more.
      },
    });
    const reading = readSavedImage(endless, `sha256:${"0".repeat(64)}`, {
      tmpdir: spoolParent,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 20);
    await expect(reading).rejects.toBe(reason);
    expect(await readdir(spoolParent)).toEqual([]);
  });
});
