import { lookupRegistryAuth } from "../auth/credentials.js";
import { encodeRegistryHeader } from "../auth/registry-header.js";
import { engineTreatsAsInsecure } from "../auth/registry-security.js";
import { createDebug } from "../debug-logger.js";
import { openEngine } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import {
  type EngineOperationOptions,
  type NormalizedOperationOptions,
  normalizeOperationOptions,
} from "../operation/operation-options.js";
import { nowMicroseconds, timestampTag } from "../python/slugify.js";
import { checkImageId, checkRepositoryName, checkTag } from "../reference/image-reference.js";
import { functionOption, optionsObject } from "../validate.js";
import { pushRepository } from "./push-attempt.js";
import { asPushError, explainPushError } from "./push-errors.js";
import { imageNames, releaseRegistryTag } from "./registry-tag.js";
import { parseRegistryUrl } from "./registry-url.js";

const debug = createDebug("prefect-dockerutils:push");

/** Options of {@link pushImage}. */
export interface PushImageOptions extends EngineOperationOptions {
  /**
   * The tag to push: a letter, digit or `_`, then up to 127 letters, digits, `_`, `.` or `-`.
   * @default the current UTC time as Prefect slugs it, e.g. `2026-11-27t03-52-22-123456-00-00`
   */
  readonly tag?: string;
  /** The clock for the default tag, in microseconds since the epoch. */
  readonly now?: () => bigint;
}

/** What a push resolves to: {@link pushImageDetailed} and `DockerImage.push()`. */
export interface PushResult {
  /** What was pushed: `<registry host>/<name>:<tag>`, or `DockerImage.reference`. */
  readonly reference: string;
  /** The tag that was pushed. */
  readonly tag: string;
  /** The manifest digest the registry confirmed, `sha256:...`. */
  readonly digest: string;
  /** The manifest size in bytes, when the engine reports it. */
  readonly size: number | undefined;
  /**
   * What the caller should know although the push succeeded, e.g. that it may have used plain
   * HTTP although `registryUrl` says `https://`. Each is also logged under `DEBUG`.
   */
  readonly warnings: readonly string[];
}

/** {@link PushImageOptions} after the one normalising pass. */
interface PushSettings extends NormalizedOperationOptions {
  readonly tag: string | undefined;
  readonly now: () => bigint;
}

/** Checks every option once, before any I/O, naming the option and the bad value. */
function pushSettings(options: PushImageOptions | undefined): PushSettings {
  const given = optionsObject<PushImageOptions>("pushImage's options", options);
  return {
    ...normalizeOperationOptions(given),
    // Prefect: `tag = tag or slugify(...)`, so an empty tag means the default.
    tag: given.tag === undefined || given.tag === "" ? undefined : checkTag(given.tag, "tag"),
    now: functionOption<() => bigint>("now", given.now) ?? nowMicroseconds,
  };
}

/**
 * Pushes a local image and resolves to `<registry host>/<name>:<tag>`. The image is tagged so for
 * the push; afterwards that tag is removed only when the image keeps another name (Prefect
 * deletes the image when it was its only one), and never when it was there before.
 *
 * @param imageId - the image's ID (`sha256:...`, or 12 to 64 hex digits) or a reference.
 * @param registryUrl - `http://host[:port]` or `https://host[:port]`; the engine picks HTTPS or,
 *   for registries it treats as insecure, plain HTTP, whatever the scheme says.
 * @param name - the repository, e.g. `team/app` (the tag goes in `options.tag`).
 * @throws InvalidArgumentError for a bad argument or option, before any request; PushError for
 *   a failed push, also one reported inside the engine's progress stream.
 * @example
 * ```ts
 * const ref = await pushImage(imageId, "http://localhost:5000", "team/app", { tag: "v1" });
 * // "localhost:5000/team/app:v1"
 * ```
 */
export async function pushImage(
  imageId: string,
  registryUrl: string,
  name: string,
  options?: PushImageOptions,
): Promise<string> {
  return (await pushImageDetailed(imageId, registryUrl, name, options)).reference;
}

/** Like {@link pushImage}, and also resolves to the pushed digest and any warnings. */
export async function pushImageDetailed(
  imageId: string,
  registryUrl: string,
  name: string,
  options?: PushImageOptions,
): Promise<PushResult> {
  const settings = pushSettings(options);
  const image = checkImageId(imageId, "imageId");
  const registry = parseRegistryUrl(registryUrl);
  const { host } = registry;
  checkRepositoryName(name, host);
  const { signal } = settings;
  signal?.throwIfAborted();
  const tag = settings.tag ?? timestampTag(settings.now());
  const repository = `${host}/${name}`;
  const reference = `${repository}:${tag}`;
  const engine = openEngine(settings);
  await engine.ping(signal ? { signal } : {});
  const warnings: string[] = [];
  if (registry.scheme === "https") {
    const insecure = await engineTreatsAsInsecure(engine, host, signal).catch((error: unknown) => {
      signal?.throwIfAborted();
      debug("cannot read the engine's registry settings: %s", (error as Error).message);
      return undefined;
    });
    if (insecure) {
      const warning = `registryUrl says https://, but the engine treats ${host} as an insecure registry (its insecure-registries, or loopback), so it falls back to plain HTTP when HTTPS fails: this push may not have used TLS`;
      debug(warning);
      warnings.push(warning);
    }
  }
  const credentials = await lookupRegistryAuth(reference, settings);
  const authHeader = encodeRegistryHeader(credentials.auth ?? {});

  // A name the image had before the push is the user's, never removed afterwards.
  let before: string | undefined;
  try {
    const named = await imageNames(engine, reference, signal);
    before = typeof named?.Id === "string" ? named.Id : undefined;
    await engine.requestJson({
      method: "POST",
      path: enginePath`/images/${image}/tag`,
      query: { repo: repository, tag },
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    signal?.throwIfAborted();
    throw asPushError(error);
  }
  try {
    const pushed = await pushRepository(engine, repository, tag, authHeader, settings, debug).catch(
      (error: unknown) => {
        throw explainPushError(error, {
          host,
          origin: credentials.origin,
          fix: "pass options.auth",
          podman: engine.lastPing?.podman === true,
        });
      },
    );
    return { reference, tag, ...pushed, warnings };
  } finally {
    await releaseRegistryTag(engine, reference, before);
  }
}
