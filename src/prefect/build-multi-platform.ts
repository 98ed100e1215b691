/**
 * Building a multi-platform image without buildx: each platform is built on the engine (BuildKit
 * by default), pushed to the registry by digest through the Registry HTTP API, and one OCI image
 * index listing them is put under the tag. Nothing is tagged on the engine or in the registry but
 * the index, and the per-platform images the engine made are removed again.
 * @module
 */
import { stat } from "node:fs/promises";
import { lookupRegistryAuth } from "../auth/credentials.js";
import { explicitAuths, type RegistryAuthOption } from "../auth/registry-auth.js";
import type { BuildContextOverlay } from "../build-context/build-context.js";
import { createDebug } from "../debug-logger.js";
import { CLEANUP_TIMEOUT_MS } from "../defaults.js";
import { readBody } from "../engine/engine-answer.js";
import { type EngineConnection, openEngine } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import { InvalidArgumentError, PushError, RegistryError } from "../errors.js";
import {
  type BuildImageOptions,
  type NormalizedBuildImageOptions,
  normalizeBuildImageOptions,
} from "../operation/build-image-options.js";
import { parseImageReference } from "../reference/image-reference.js";
import { isTag } from "../reference/reference-grammar.js";
import { registryKey } from "../reference/registry-key.js";
import { type BlobLocations, processBlobLocations } from "../registry/blob-locations.js";
import {
  OCI_INDEX_MEDIA_TYPE,
  ociImageIndex,
  type PlatformDescriptor,
} from "../registry/image-index.js";
import { formatPlatform, type Platform, parsePlatformList } from "../registry/platform.js";
import { pushPlatformImage } from "../registry/push-platform-image.js";
import { RegistryClient } from "../registry/registry-client.js";
import { writeProgress } from "../streams/progress.js";
import { optionsObject, show } from "../validate.js";
import { buildImageInternal } from "./build-image.js";
import { explainPushError } from "./push-errors.js";

const debug = createDebug("prefect-dockerutils:multi-platform");

/** Options of {@link buildMultiPlatformImage}: those of `buildImage`, with platforms instead of one. */
export interface BuildMultiPlatformOptions extends Omit<BuildImageOptions, "tag" | "platform"> {
  /**
   * The platforms to build, e.g. `["linux/amd64", "linux/arm64"]` or `"linux/amd64,linux/arm64"`
   * (`os/architecture[/variant]`, at most 16, each once). RUN steps of a platform other than the
   * engine's need emulation (binfmt_misc with QEMU) on the engine's host; COPY-only stages build
   * for any platform without it.
   */
  readonly platforms: readonly string[] | string;
  /** More tags to put the same index under, in the same repository. @default [] */
  readonly additionalTags?: readonly string[];
  /**
   * The builder each platform is built with.
   * @default "buildkit"
   */
  readonly builder?: BuildImageOptions["builder"];
}

/** One platform's image in the index. */
export interface PlatformManifest {
  /** E.g. `linux/arm64` (normalised: `linux/aarch64` is `linux/arm64`). */
  readonly platform: string;
  /** The platform's manifest digest, `sha256:...`: pull it as `<repository>@<digest>`. */
  readonly digest: string;
  /** The manifest's size in bytes. */
  readonly size: number;
}

/** What {@link buildMultiPlatformImage} resolves to. */
export interface MultiPlatformImage {
  /** `<registry>/<repository>:<tag>`, e.g. `ghcr.io/team/app:1`. */
  readonly reference: string;
  /** `<registry>/<repository>`. */
  readonly repository: string;
  /** The tag the index was put under. */
  readonly tag: string;
  /** The other tags it was put under. */
  readonly additionalTags: readonly string[];
  /** The index digest, `sha256:...`: the multi-platform image's name by content. */
  readonly digest: string;
  /** The index size in bytes. */
  readonly size: number;
  /** `application/vnd.oci.image.index.v1+json`. */
  readonly mediaType: typeof OCI_INDEX_MEDIA_TYPE;
  /** Each platform's manifest, in the order of `platforms`. */
  readonly manifests: readonly PlatformManifest[];
}

/** {@link BuildMultiPlatformOptions} after the one normalising pass. */
interface MultiPlatformSettings {
  readonly build: NormalizedBuildImageOptions;
  readonly platforms: readonly Platform[];
  readonly registry: string;
  readonly repository: string;
  readonly tags: readonly string[];
  readonly locations: BlobLocations;
}

/** Checks the reference and every option, before any I/O. */
function multiPlatformSettings(reference: unknown, options: unknown): MultiPlatformSettings {
  const given = optionsObject<BuildMultiPlatformOptions>(
    "buildMultiPlatformImage's options",
    options as BuildMultiPlatformOptions | undefined,
  );
  for (const [option, instead] of [
    ["tag", "pass the reference, tag included, as the second argument"],
    ["platform", "name the platforms in platforms"],
  ] as const) {
    if ((given as unknown as Record<string, unknown>)[option] !== undefined) {
      throw new InvalidArgumentError(
        `buildMultiPlatformImage takes no ${option} option; ${instead}`,
      );
    }
  }
  if (typeof reference !== "string" || reference === "") {
    throw new InvalidArgumentError(
      `reference must be the image to push, such as "ghcr.io/team/app:1", got ${show(reference)}`,
    );
  }
  const parsed = parseImageReference(reference);
  if (parsed.digest !== undefined) {
    throw new InvalidArgumentError(
      `reference ${show(reference)} has a digest; name a tag instead (the push makes the digest), e.g. ${JSON.stringify(`${parsed.familiarName}:1`)}`,
    );
  }
  const platforms = parsePlatformList(given.platforms, "platforms");
  const additional = given.additionalTags ?? [];
  if (!Array.isArray(additional)) {
    throw new InvalidArgumentError(
      `additionalTags must be a list of tags such as ["latest"], got ${show(additional)}`,
    );
  }
  const tag = parsed.tag ?? "latest";
  const tags = [tag];
  for (const extra of additional as unknown[]) {
    if (typeof extra !== "string" || !isTag(extra)) {
      throw new InvalidArgumentError(
        `additionalTags entries must be tags (a letter, digit or "_", then up to 127 letters, digits, "_", "." or "-"), got ${show(extra)}`,
      );
    }
    if (!tags.includes(extra)) tags.push(extra);
  }
  const { platforms: _platforms, additionalTags: _additional, ...rest } = given;
  const build = normalizeBuildImageOptions(
    { ...rest, builder: given.builder ?? "buildkit" },
    "buildMultiPlatformImage's options",
  );
  return {
    build,
    platforms,
    registry: parsed.registry,
    repository: parsed.path,
    tags,
    locations: processBlobLocations,
  };
}

/**
 * Builds `context` for each of `options.platforms` and pushes them as one multi-platform image
 * (an OCI image index) under `reference`, through the Registry HTTP API: no buildx, no docker CLI.
 *
 * Each platform is built on the engine (BuildKit unless `builder` says otherwise) without a tag;
 * while the next one builds, the previous one is exported from the engine and its blobs are sent
 * to the registry (those the registry has are skipped, those another repository of it holds are
 * mounted), and its manifest is put by digest. Then the index is put under the tag (and
 * `additionalTags`). No tag is made on the engine or in the registry but those, and the
 * per-platform images the engine made are removed again, on success, failure and cancellation
 * (an image that was on the engine before, or that someone tagged since, is left alone).
 *
 * The registry is spoken to as the engine would speak to it: HTTPS, or plain HTTP for a registry
 * the engine treats as insecure (its `insecure-registries`, and always 127.0.0.0/8), with the
 * login from `auth` or the Docker configuration (`credHelpers`, `credsStore`, `auths`), Basic or
 * a Bearer token from the registry's token server. The login is checked before anything is built.
 *
 * @param context - The folder to send as the build context.
 * @param reference - Where to push, e.g. `ghcr.io/team/app:1` (`:latest` when no tag is given).
 * @throws InvalidArgumentError for a bad reference, platform or option, before any I/O;
 *   BuildError for a failed build (naming binfmt and the platform when a RUN step meets `exec
 *   format error`); PushError for what the registry refuses (its status in `statusCode`, the
 *   registry's error as `cause`); the signal's reason when cancelled.
 * @example
 * ```ts
 * const image = await buildMultiPlatformImage("./app", "ghcr.io/team/app:1", {
 *   platforms: ["linux/amd64", "linux/arm64"],
 * });
 * // { reference: "ghcr.io/team/app:1", digest: "sha256:…", manifests: [{ platform: "linux/amd64", digest: "sha256:…", … }, …] }
 * ```
 */
export async function buildMultiPlatformImage(
  context: string,
  reference: string,
  options: BuildMultiPlatformOptions,
): Promise<MultiPlatformImage> {
  return buildMultiPlatformInternal(context, multiPlatformSettings(reference, options));
}

/** {@link buildMultiPlatformImage} with its options checked, and the ImageBuilder's overlays. */
export async function buildMultiPlatformInternal(
  context: string,
  settings: MultiPlatformSettings,
  overlays: readonly BuildContextOverlay[] = [],
): Promise<MultiPlatformImage> {
  if (typeof context !== "string" || context === "") {
    throw new InvalidArgumentError(`context must be the path of a folder, got ${show(context)}`);
  }
  const { build, platforms, registry, repository, tags } = settings;
  const { signal, onProgress, streamProgressTo } = build;
  signal?.throwIfAborted();
  const info = await stat(context).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new InvalidArgumentError(
      info ? `Context path ${context} is not a folder` : `Context path ${context} does not exist`,
    );
  }
  const engine = openEngine(build);
  await engine.ping(signal ? { signal } : {});
  // Listing the engine's images takes it a while (hundreds of ms): done while the login is
  // looked up and checked, and always before the first build can make an image.
  const listing = danglingImages(engine, signal);
  listing.catch(() => undefined);
  const login = await lookupRegistryAuth(`https://${registry}`, build);
  const explain = (error: unknown): unknown => {
    if (!(error instanceof RegistryError)) return error;
    const pushError = new PushError(error.message, { statusCode: error.statusCode, cause: error });
    return explainPushError(pushError, {
      host: registry,
      origin: login.origin,
      fix: "pass options.auth",
      podman: engine.lastPing?.podman === true,
    });
  };
  let client: RegistryClient;
  try {
    client = await RegistryClient.connect(
      registry,
      [`repository:${repository}:pull,push`],
      {
        engine,
        login: { auth: login.auth, origin: login.origin },
        retry: build,
        ...(build.inactivityTimeoutMs > 0 ? { timeoutMs: build.inactivityTimeoutMs } : {}),
      },
      signal,
    );
  } catch (error) {
    throw explain(error);
  }

  let dangling: ReadonlySet<string> | undefined;
  try {
    dangling = await listing;
  } catch (error) {
    client.close();
    throw error;
  }
  // Every failure (and the caller's abort) stops the other platforms' work at once.
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const built: string[] = [];
  const pushes: Promise<PlatformDescriptor>[] = [];
  try {
    const buildOptions: NormalizedBuildImageOptions = {
      ...build,
      auth: buildAuth(build.auth, registry),
      tag: undefined,
      signal: controller.signal,
    };
    const inFlight = new Map<string, Promise<void>>();
    for (const platform of platforms) {
      controller.signal.throwIfAborted();
      const name = formatPlatform(platform);
      onProgress?.({
        type: "platform",
        platform: name,
        state: "building",
        imageId: undefined,
        digest: undefined,
        size: undefined,
      });
      writeProgress(streamProgressTo, `building ${name}\n`);
      const imageId = await buildImageInternal(
        context,
        { ...buildOptions, platform: name },
        overlays,
      );
      built.push(imageId);
      holdImage(imageId);
      onProgress?.({
        type: "platform",
        platform: name,
        state: "built",
        imageId,
        digest: undefined,
        size: undefined,
      });
      const pushed = pushPlatformImage(engine, imageId, {
        client,
        repository,
        platform,
        locations: settings.locations,
        inFlight,
        signal: controller.signal,
        inactivityTimeoutMs: build.inactivityTimeoutMs,
        onProgress,
        streamProgressTo,
      });
      pushed.catch((error: unknown) => controller.abort(error));
      pushes.push(pushed);
    }
    const manifests = await Promise.all(pushes);
    const index = ociImageIndex(manifests);
    for (const tag of tags) {
      await client.putManifest(repository, tag, index, controller.signal);
      writeProgress(
        streamProgressTo,
        `${tag}: digest: ${index.descriptor.digest} size: ${index.descriptor.size}\n`,
      );
    }
    const result: MultiPlatformImage = {
      reference: `${registry}/${repository}:${tags[0]}`,
      repository: `${registry}/${repository}`,
      tag: tags[0] as string,
      additionalTags: tags.slice(1),
      digest: index.descriptor.digest,
      size: index.descriptor.size,
      mediaType: OCI_INDEX_MEDIA_TYPE,
      manifests: manifests.map((manifest) => ({
        platform: formatPlatform(manifest.platform),
        digest: manifest.digest,
        size: manifest.size,
      })),
    };
    onProgress?.({
      type: "index",
      reference: result.reference,
      digest: result.digest,
      size: result.size,
      manifests: result.manifests,
    });
    return result;
  } catch (error) {
    controller.abort(error);
    await Promise.allSettled(pushes);
    if (signal?.aborted) throw signal.reason;
    throw explain(error);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    client.close();
    await removeBuiltImages(engine, built, dangling);
  }
}

/**
 * The `auth` the builds get: a single login is the push registry's (as for `pushImage`), and a
 * build, which may pull `FROM` any registry, gets it as that registry's entry.
 */
function buildAuth(
  auth: RegistryAuthOption | undefined,
  registry: string,
): RegistryAuthOption | undefined {
  const { single } = explicitAuths(auth);
  if (!single || single.serveraddress) return auth;
  return { [registryKey(registry)]: single };
}

/** Images the engine held untagged before the builds: never this operation's to remove. */
async function danglingImages(
  engine: EngineConnection,
  signal: AbortSignal | undefined,
): Promise<ReadonlySet<string> | undefined> {
  try {
    const response = await engine.request({
      method: "GET",
      path: "/images/json",
      query: { filters: { dangling: ["true"] } },
      ...(signal ? { signal } : {}),
    });
    const list = JSON.parse(
      (await readBody(response, 64 * 1024 * 1024, signal)).toString("utf8"),
    ) as unknown;
    if (!Array.isArray(list)) return undefined;
    return new Set(list.map((image: { Id?: unknown }) => String(image?.Id)));
  } catch (error) {
    signal?.throwIfAborted();
    // Without the list nothing can be told apart: nothing is removed (fail closed).
    debug(
      "cannot list the engine's untagged images, so no built image is removed: %s",
      (error as Error).message,
    );
    return undefined;
  }
}

/** Images this process's multi-platform builds are still exporting, by ID, with a count. */
const imagesInUse = new Map<string, number>();

function holdImage(imageId: string): void {
  imagesInUse.set(imageId, (imagesInUse.get(imageId) ?? 0) + 1);
}

/** Drops one hold; `true` when no other operation of this process holds the image. */
function releaseImage(imageId: string): boolean {
  const count = (imagesInUse.get(imageId) ?? 1) - 1;
  if (count > 0) {
    imagesInUse.set(imageId, count);
    return false;
  }
  imagesInUse.delete(imageId);
  return true;
}

/**
 * Removes the per-platform images this operation made: those that were not on the engine before
 * (untagged), that nobody tagged since, and that no other build of this process still exports.
 * Bounded in time, never with the caller's signal (a cancelled build still cleans up).
 */
async function removeBuiltImages(
  engine: EngineConnection,
  built: readonly string[],
  dangling: ReadonlySet<string> | undefined,
): Promise<void> {
  for (const imageId of new Set(built)) {
    const free = built
      .filter((id) => id === imageId)
      .map(() => releaseImage(imageId))
      .every(Boolean);
    if (!free || dangling === undefined || dangling.has(imageId)) continue;
    const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
    try {
      const image = (await engine.requestJson({
        method: "GET",
        path: enginePath`/images/${imageId}/json`,
        signal,
      })) as { RepoTags?: string[] | null; RepoDigests?: string[] | null } | undefined;
      const tagged = (image?.RepoTags ?? []).some((tag) => tag !== "<none>:<none>");
      if (tagged || (image?.RepoDigests ?? []).length > 0) continue;
      // noprune: the classic builder's parent images are its build cache.
      await engine.requestJson({
        method: "DELETE",
        path: enginePath`/images/${imageId}`,
        query: { noprune: "1" },
        signal,
      });
      debug("removed %s", imageId);
    } catch (error) {
      debug("could not remove %s: %s", imageId, (error as Error).message);
    }
  }
}
