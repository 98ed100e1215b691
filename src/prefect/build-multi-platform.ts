import { lookupRegistryAuth } from "../auth/credentials.js";
import { explicitAuths, type RegistryAuthOption } from "../auth/registry-auth.js";
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
import { processBlobLocations } from "../registry/blob-locations.js";
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
import { buildImageInternal, checkContextFolder } from "./build-image.js";
import { explainPushError } from "./push-errors.js";

const debug = createDebug("prefect-dockerutils:multi-platform");

/** Options of {@link buildMultiPlatformImage}: `buildImage`'s, with platforms instead of one. */
export interface BuildMultiPlatformOptions extends Omit<BuildImageOptions, "tag" | "platform"> {
  /**
   * The platforms to build, e.g. `["linux/amd64", "linux/arm64"]` or `"linux/amd64,linux/arm64"`
   * (at most 16). RUN steps for a platform not the engine's need binfmt_misc/QEMU on its host.
   */
  readonly platforms: readonly string[] | string;
  /** More tags to put the same index under, in the same repository. @default [] */
  readonly additionalTags?: readonly string[];
  /** The builder each platform is built with. @default "buildkit" */
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
  };
}

/**
 * Builds `context` for each of `options.platforms` and pushes them as one OCI image index under
 * `reference` through the Registry HTTP API: no buildx, no docker CLI.
 *
 * Each platform is built untagged; while the next builds, the previous one's blobs are sent (or
 * mounted) and its manifest put by digest; then the index is put under each tag. The per-platform
 * images are removed again, however the call ends, unless they were there before or got a tag.
 * The registry is spoken to as the engine would (HTTPS, or HTTP where the engine treats it as
 * insecure), with the login from `auth` or the Docker configuration, checked before any build.
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
  const { build, platforms, registry, repository, tags } = multiPlatformSettings(
    reference,
    options,
  );
  if (typeof context !== "string" || context === "") {
    throw new InvalidArgumentError(`context must be the path of a folder, got ${show(context)}`);
  }
  const { signal, onProgress, streamProgressTo } = build;
  signal?.throwIfAborted();
  await checkContextFolder(context);
  const engine = openEngine(build);
  await engine.ping(signal ? { signal } : {});
  // Listing takes the engine hundreds of ms: done during the login, and before any build.
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
      const imageId = await buildImageInternal(context, { ...buildOptions, platform: name });
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
        locations: processBlobLocations,
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

/** A single login is the push registry's; the builds, which may pull from any, get it keyed. */
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
 * Removes the per-platform images this operation made, unless they were there before, got a tag
 * or another build of this process still exports them. Bounded in time, not by the caller's signal.
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
