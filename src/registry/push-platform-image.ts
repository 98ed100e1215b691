/**
 * Pushing one platform's image from the engine to a registry by digest, without a tag: the image
 * is exported from the engine, its blobs go up through the Registry API (skipped when the registry
 * has them, mounted when another repository of it does), and its OCI manifest is put under its own
 * digest, ready for an image index to list.
 * @module
 */
import { Readable, type Writable } from "node:stream";
import { createDebug } from "../debug-logger.js";
import type { EngineConnection } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import { BuildError } from "../errors.js";
import { Attempt } from "../streams/attempt.js";
import { type ProgressListener, writeProgress } from "../streams/progress.js";
import type { BlobLocations } from "./blob-locations.js";
import {
  type Descriptor,
  OCI_CONFIG_MEDIA_TYPE,
  OCI_LAYER_GZIP_MEDIA_TYPE,
  ociImageManifest,
  type PlatformDescriptor,
} from "./image-index.js";
import { formatPlatform, type Platform, parsePlatform } from "./platform.js";
import type { BlobSource, RegistryClient } from "./registry-client.js";
import { readSavedImage } from "./saved-image.js";

const debug = createDebug("prefect-dockerutils:registry");

/** Blobs of one image sent at the same time (the engine's `max-concurrent-uploads` is 5). */
const UPLOAD_CONCURRENCY = 3;
/** An `uploading` event at most every this many bytes. */
const PROGRESS_STEP_BYTES = 1024 * 1024;

/** Options of {@link pushPlatformImage}. */
export interface PushPlatformImageOptions {
  readonly client: RegistryClient;
  /** The repository in the registry, e.g. `team/app`. */
  readonly repository: string;
  /** The platform the image was built for; the image's config must say the same. */
  readonly platform: Platform;
  /** Where this process has seen blobs (for cross-repository mounts). */
  readonly locations: BlobLocations;
  /**
   * Blobs being sent by the other platforms of the same push, by digest: a blob two platforms
   * share goes up once.
   */
  readonly inFlight: Map<string, Promise<void>>;
  readonly signal?: AbortSignal | undefined;
  readonly inactivityTimeoutMs?: number | undefined;
  readonly onProgress?: ProgressListener | undefined;
  readonly streamProgressTo?: Writable | undefined;
}

/**
 * Exports `imageId` from the engine and pushes it to `options.repository` by digest. Resolves to
 * the manifest's descriptor with the platform, for the index.
 *
 * @throws BuildError when the image is not of `options.platform` (a base image without that
 *   platform), RegistryError for what the registry refuses, the signal's reason when cancelled.
 */
export async function pushPlatformImage(
  engine: EngineConnection,
  imageId: string,
  options: PushPlatformImageOptions,
): Promise<PlatformDescriptor> {
  const { client, repository, platform, signal, onProgress, streamProgressTo } = options;
  const name = formatPlatform(platform);
  onProgress?.({
    type: "platform",
    platform: name,
    state: "pushing",
    imageId,
    digest: undefined,
    size: undefined,
  });
  using attempt = new Attempt(signal, options.inactivityTimeoutMs);
  const response = await engine.request({
    method: "GET",
    path: enginePath`/images/${imageId}/get`,
    signal: attempt.signal,
  });
  await using image = await readSavedImage(response, imageId, {
    signal: attempt.signal,
    onActivity: () => attempt.touch(),
  });
  checkPlatform(image.config, platform, imageId);
  const say = (text: string) => writeProgress(streamProgressTo, `${name}: ${text}\n`);
  const send = async (kind: "config" | "layer", digest: string, source: BlobSource) => {
    const event = (
      state: "exists" | "mounted" | "uploading" | "uploaded",
      current: number,
      from?: string,
    ) =>
      onProgress?.({
        type: "blob",
        platform: name,
        kind,
        digest,
        state,
        current,
        total: source.size,
        from,
      });
    const short = digest.slice(7, 19);
    const shared = options.inFlight.get(digest);
    if (shared) {
      await shared;
      event("exists", source.size);
      say(`${short}: Layer already exists`);
      return;
    }
    const sending = (async () => {
      attempt.touch();
      if ((await client.headBlob(repository, digest, attempt.signal)) !== undefined) {
        event("exists", source.size);
        say(`${short}: Layer already exists`);
        return;
      }
      const from = options.locations.elsewhere(client.host, repository, digest);
      if (
        from !== undefined &&
        (await client.mountBlob(repository, digest, from, attempt.signal))
      ) {
        event("mounted", source.size, from);
        say(`${short}: Mounted from ${from}`);
        return;
      }
      let reported = 0;
      event("uploading", 0);
      await client.uploadBlob(repository, digest, source, {
        signal: attempt.signal,
        onProgress: (sent) => {
          attempt.touch();
          if (sent - reported >= PROGRESS_STEP_BYTES) {
            reported = sent;
            event("uploading", sent);
          }
        },
      });
      event("uploaded", source.size);
      say(`${short}: Pushed`);
    })();
    options.inFlight.set(digest, sending);
    try {
      await sending;
    } catch (error) {
      options.inFlight.delete(digest);
      throw error;
    }
    options.locations.remember(client.host, repository, digest);
  };

  const config: Descriptor = {
    mediaType: OCI_CONFIG_MEDIA_TYPE,
    digest: image.configDigest,
    size: image.config.length,
  };
  const configBytes = image.config;
  const blobs: [kind: "config" | "layer", digest: string, source: BlobSource][] = [
    [
      "config",
      config.digest,
      {
        size: configBytes.length,
        open: (start, end) => Readable.from([configBytes.subarray(start, end)]),
      },
    ],
    ...image.layers.map(
      (layer) => ["layer", layer.digest, layer.source] as ["layer", string, BlobSource],
    ),
  ];
  await eachLimited(blobs, UPLOAD_CONCURRENCY, ([kind, digest, source]) =>
    send(kind, digest, source),
  );

  const layers: Descriptor[] = image.layers.map((layer) => ({
    mediaType: OCI_LAYER_GZIP_MEDIA_TYPE,
    digest: layer.digest,
    size: layer.size,
  }));
  const manifest = ociImageManifest(config, layers);
  const digest = await client.putManifest(
    repository,
    manifest.descriptor.digest,
    manifest,
    attempt.signal,
  );
  debug("%s of %s pushed to %s/%s@%s", name, imageId, client.host, repository, digest);
  say(`digest: ${digest} size: ${manifest.descriptor.size}`);
  onProgress?.({
    type: "platform",
    platform: name,
    state: "pushed",
    imageId,
    digest,
    size: manifest.descriptor.size,
  });
  return { ...manifest.descriptor, platform };
}

/**
 * The image's config must be of the platform it was built for: an engine whose base image lacks
 * that platform builds on the one it has, and the index would then lie.
 */
function checkPlatform(config: Buffer, platform: Platform, imageId: string): void {
  let parsed: { os?: unknown; architecture?: unknown; variant?: unknown };
  try {
    parsed = JSON.parse(config.toString("utf8")) as typeof parsed;
  } catch {
    parsed = {};
  }
  const written = [parsed.os, parsed.architecture, parsed.variant]
    .filter((part) => typeof part === "string" && part !== "")
    .join("/");
  let actual: Platform | undefined;
  try {
    actual = parsePlatform(written);
  } catch {
    actual = undefined;
  }
  if (actual?.os === platform.os && actual.architecture === platform.architecture) return;
  const wanted = formatPlatform(platform);
  throw new BuildError(
    `The image built for ${wanted} (${imageId}) is ${written || "of no platform"}: the engine built on a base image it has for another platform. Build with pull: true so the engine fetches the ${wanted} base image, or use a base image that has ${wanted}`,
  );
}

/** Runs `work` on every item, at most `limit` at a time; the first failure rejects (after the others settle). */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
