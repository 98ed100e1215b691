/**
 * Pushing one platform's image from the engine to a registry by digest, without a tag, ready for
 * an image index to list.
 * @module
 */
import type { Writable } from "node:stream";
import { createDebug } from "../debug-logger.js";
import type { EngineConnection } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import { BuildError } from "../errors.js";
import { Attempt } from "../operation/attempt.js";
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
import { fromMemory, readSavedImage, type SavedLayer } from "./saved-image.js";

const debug = createDebug("prefect-dockerutils:registry");

/** Blobs of one image sent at the same time (the engine's `max-concurrent-uploads` is 5). */
const UPLOAD_CONCURRENCY = 3;
/** An `uploading` event at most every this many bytes. */
const PROGRESS_STEP_BYTES = 1024 * 1024;

/** Options of {@link pushPlatformImage}. */
export interface PushPlatformImageOptions {
  readonly client: RegistryClient;
  /** E.g. `team/app`. */
  readonly repository: string;
  /** The platform the image was built for; the image's config must say the same. */
  readonly platform: Platform;
  readonly locations: BlobLocations;
  /** Blobs the other platforms of the same push are sending, by digest: each goes up once. */
  readonly inFlight: Map<string, Promise<void>>;
  readonly signal?: AbortSignal | undefined;
  readonly inactivityTimeoutMs?: number | undefined;
  readonly onProgress?: ProgressListener | undefined;
  readonly streamProgressTo?: Writable | undefined;
}

/**
 * Exports `imageId` from the engine and pushes its blobs (skipped when the registry has them,
 * mounted when another of its repositories does) and its manifest, under its own digest. Resolves
 * to the manifest's descriptor with the platform, for the index.
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
  const platformEvent = (state: "pushing" | "pushed", digest?: string, size?: number) =>
    onProgress?.({ type: "platform", platform: name, state, imageId, digest, size });
  platformEvent("pushing");
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
  const { inFlight, locations } = options;
  type State = "exists" | "mounted" | "uploading" | "uploaded";
  const reporter =
    (kind: "config" | "layer", digest: string, total: number) =>
    (state: State, current: number, from?: string) => {
      onProgress?.({ type: "blob", platform: name, kind, digest, state, current, total, from });
      const short = digest.slice(7, 19);
      if (state === "exists") say(`${short}: Layer already exists`);
      else if (state === "mounted") say(`${short}: Mounted from ${from}`);
      else if (state === "uploaded") say(`${short}: Pushed`);
    };

  /** Whether the blob needs no bytes sent: in flight, in the repository, or mounted. */
  const present = async (digest: string, event: ReturnType<typeof reporter>, size: number) => {
    const shared = inFlight.get(digest);
    if (shared) {
      await shared;
      event("exists", size);
      return true;
    }
    attempt.touch();
    if ((await client.headBlob(repository, digest, attempt.signal)) !== undefined) {
      locations.remember(client.host, repository, digest);
      event("exists", size);
      return true;
    }
    const from = locations.elsewhere(client.host, repository, digest);
    if (from !== undefined && (await client.mountBlob(repository, digest, from, attempt.signal))) {
      locations.remember(client.host, repository, digest);
      event("mounted", size, from);
      return true;
    }
    return false;
  };

  /** Sends a blob unless it is present. */
  const send = async (kind: "config" | "layer", digest: string, source: BlobSource) => {
    const event = reporter(kind, digest, source.size);
    if (inFlight.has(digest)) {
      await present(digest, event, source.size);
      return;
    }
    const sending = (async () => {
      if (await present(digest, event, source.size)) return;
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
      locations.remember(client.host, repository, digest);
    })();
    inFlight.set(digest, sending);
    try {
      await sending;
    } catch (error) {
      inFlight.delete(digest);
      throw error;
    }
  };

  /** A layer's descriptor; a layer compressed before is never compressed again if present. */
  const sendLayer = async (layer: SavedLayer): Promise<Descriptor> => {
    const known = locations.compressed(layer.diffId);
    if (
      known !== undefined &&
      (await present(known.digest, reporter("layer", known.digest, known.size), known.size))
    ) {
      return { mediaType: OCI_LAYER_GZIP_MEDIA_TYPE, ...known };
    }
    attempt.touch();
    const { digest, size, source } = await layer.compress();
    locations.rememberCompressed(layer.diffId, { digest, size });
    await send("layer", digest, source);
    return { mediaType: OCI_LAYER_GZIP_MEDIA_TYPE, digest, size };
  };

  const config: Descriptor = {
    mediaType: OCI_CONFIG_MEDIA_TYPE,
    digest: image.configDigest,
    size: image.config.length,
  };
  const layers: Descriptor[] = new Array(image.layers.length);
  const work: (() => Promise<void>)[] = [
    () => send("config", config.digest, fromMemory(image.config)),
    ...image.layers.map((layer, index) => async () => {
      layers[index] = await sendLayer(layer);
    }),
  ];
  await runLimited(work, UPLOAD_CONCURRENCY);

  const manifest = ociImageManifest(config, layers);
  const digest = await client.putManifest(
    repository,
    manifest.descriptor.digest,
    manifest,
    attempt.signal,
  );
  debug("%s of %s pushed to %s/%s@%s", name, imageId, client.host, repository, digest);
  say(`digest: ${digest} size: ${manifest.descriptor.size}`);
  platformEvent("pushed", digest, manifest.descriptor.size);
  return { ...manifest.descriptor, platform };
}

/**
 * The image's config must be of the platform it was built for: an engine whose base image lacks
 * that platform builds on the one it has, and the index would then lie.
 */
function checkPlatform(config: Buffer, platform: Platform, imageId: string): void {
  let written = "";
  let actual: Platform | undefined;
  try {
    const { os, architecture, variant } = JSON.parse(config.toString("utf8"));
    written = [os, architecture, variant]
      .filter((part) => typeof part === "string" && part !== "")
      .join("/");
    actual = parsePlatform(written);
  } catch {
    // Not JSON, or not a platform: the message below says what the config holds.
  }
  if (actual?.os === platform.os && actual.architecture === platform.architecture) return;
  const wanted = formatPlatform(platform);
  throw new BuildError(
    `The image built for ${wanted} (${imageId}) is ${written || "of no platform"}: the engine built on a base image it has for another platform. Build with pull: true so the engine fetches the ${wanted} base image, or use a base image that has ${wanted}`,
  );
}

/** Runs the tasks, `limit` at a time; the first failure rejects once the others settle. */
async function runLimited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < tasks.length) {
      try {
        await (tasks[next++] as () => Promise<void>)();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure) throw failure.error;
}
