/**
 * Pushing a local image under the name it has, as docker-py's `client.api.push()` does for
 * Prefect's deploy side (unlike `pushImage`, which pushes a temporary registry tag).
 * @module
 */
import { lookupRegistryAuth } from "../auth/credentials.js";
import { encodeRegistryHeader } from "../auth/registry-header.js";
import { createDebug } from "../debug-logger.js";
import { openEngine } from "../engine/engine-connection.js";
import { PushError } from "../errors.js";
import type { NormalizedOperationOptions } from "../operation/operation-options.js";
import { type PushedDigest, pushRepository } from "../prefect/push-attempt.js";
import { asPushError, explainPushError } from "../prefect/push-errors.js";
import { registryOfImage } from "../reference/image-reference.js";
import { isTag } from "../reference/reference-grammar.js";
import { validateReference } from "./deploy-image-name.js";

const debug = createDebug("prefect-dockerutils:deploy");

/** Options of {@link pushReference}: the caller's, normalised, and how it takes a login. */
export interface PushReferenceSettings extends NormalizedOperationOptions {
  /**
   * How the caller gives `auth`, for a refused login's message.
   * @default { name: "options.auth", fix: "pass options.auth" }
   */
  readonly login?: { readonly name: string; readonly fix: string } | undefined;
}

/**
 * Pushes `repository:tag` with the credentials the Docker configuration (or `auth`) has for its
 * registry, retrying and explaining failures as `pushImage` does. Without a tag every local tag is
 * pushed, as the Engine API does. Resolves to the digest the registry confirmed last.
 *
 * @throws InvalidArgumentError for a reference the docker CLI would not accept.
 * @throws PushError for every failure the engine or registry reports.
 */
export async function pushReference(
  repository: string,
  tag: string | undefined,
  settings: PushReferenceSettings,
): Promise<PushedDigest> {
  const reference = tag === undefined ? repository : `${repository}:${tag}`;
  validateReference(repository, tag ?? null, "The image to push");
  const { signal } = settings;
  signal?.throwIfAborted();
  const engine = openEngine(settings);
  await engine.ping(signal ? { signal } : {});
  const credentials = await lookupRegistryAuth(reference, settings);
  const authHeader = encodeRegistryHeader(credentials.auth ?? {});
  const login = settings.login ?? { name: "options.auth", fix: "pass options.auth" };
  const explained = (error: unknown): unknown =>
    explainPushError(error, {
      host: registryOfImage(reference),
      origin: credentials.origin.replace(/^options\.auth/, login.name),
      fix: login.fix,
      podman: engine.lastPing?.podman === true,
    });
  // Podman's push without a tag pushes `:latest` alone (Docker's pushes every tag): there, each
  // local tag is pushed in turn, as Docker would.
  const tags = tag === undefined && engine.lastPing?.podman ? await localTags() : [tag];
  let pushed: PushedDigest | undefined;
  for (const each of tags) {
    pushed = await pushRepository(engine, repository, each, authHeader, settings, debug).catch(
      (error: unknown) => {
        throw explained(error);
      },
    );
  }
  if (pushed === undefined) {
    // Docker's own text for a repository without local tags.
    throw new PushError(`An image does not exist locally with the tag: ${repository}`);
  }
  return pushed;

  async function localTags(): Promise<string[]> {
    const images = await engine
      .requestJson({
        method: "GET",
        path: "/images/json",
        query: { filters: { reference: [repository] } },
        ...(signal ? { signal } : {}),
      })
      .catch((error: unknown) => {
        signal?.throwIfAborted();
        throw asPushError(error);
      });
    const found = new Set<string>();
    for (const image of Array.isArray(images) ? images : []) {
      const repoTags: unknown = (image as { RepoTags?: unknown } | null)?.RepoTags;
      for (const name of Array.isArray(repoTags) ? repoTags : []) {
        if (typeof name !== "string" || !name.startsWith(`${repository}:`)) continue;
        const local = name.slice(repository.length + 1);
        // Only what is a tag: the engine's answer chooses no path of the next request.
        if (isTag(local)) found.add(local);
      }
    }
    return [...found].sort();
  }
}
