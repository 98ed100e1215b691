/**
 * Pushing a local image under the name it already has, as docker-py's `client.api.push()` does
 * for Prefect's `DockerImage.push()` and `push_docker_image`: no re-tagging and no tag removed
 * afterwards (unlike `pushImage`, which pushes a temporary registry tag).
 * @module
 */
import type { Writable } from "node:stream";
import { type CredentialOptions, lookupRegistryAuth } from "../auth/credentials.js";
import { encodeRegistryHeader } from "../auth/registry-header.js";
import { createDebug } from "../debug-logger.js";
import type { DockerodeClient } from "../engine/client-endpoint.js";
import { openEngine } from "../engine/engine-connection.js";
import { isTag } from "../engine/image-reference.js";
import { PushError } from "../errors.js";
import { type RetryOptions, withRetries } from "../operation/retry.js";
import {
  engineErrorText,
  engineStatusOf,
  type PushedDigest,
  pushAttempt,
} from "../prefect/push-attempt.js";
import { explainPushError } from "../prefect/push-errors.js";
import { registryOfImage } from "../reference/image-reference.js";
import type { ProgressListener } from "../streams/progress.js";
import { validateReference } from "./deploy-image-name.js";

const debug = createDebug("prefect-dockerutils:deploy");

/** Options of {@link pushReference}. */
export interface PushReferenceOptions extends RetryOptions {
  /** Receives `status[ progress]` lines as Prefect writes them. */
  readonly streamProgressTo?: Writable | undefined;
  /** Receives typed progress events. */
  readonly onProgress?: ProgressListener | undefined;
  /** Cancels the push. */
  readonly signal?: AbortSignal | undefined;
  /** Fail when the engine sends nothing for this many milliseconds; 0 disables. */
  readonly inactivityTimeoutMs?: number | undefined;
  /** Credentials overriding the Docker configuration, for this push only. */
  readonly auth?: CredentialOptions["auth"] | undefined;
  /** How long a credential helper may take. @default 30000 */
  readonly credentialHelperTimeoutMs?: number | undefined;
  /**
   * How the entry point's caller gives `auth`, for the message of a refused login: its name
   * (`the step's credentials`) and the fix (`pass credentials`).
   * @default { name: "options.auth", fix: "pass options.auth" }
   */
  readonly login?: { readonly name: string; readonly fix: string } | undefined;
  /** The environment to find the engine and the Docker configuration in. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** The engine client. */
  readonly docker?: DockerodeClient | undefined;
}

/** What {@link pushReference} resolves to. */
export interface PushedReference {
  /** `repository:tag`, or the repository alone when every tag was pushed. */
  readonly reference: string;
  /** The manifest digest the registry confirmed last. */
  readonly digest: string;
  /** The manifest size in bytes, when the engine reports it. */
  readonly size: number | undefined;
}

/**
 * Pushes `repository:tag` as it is tagged in the engine, with the credentials the Docker
 * configuration (or `auth`) has for its registry; the engine is never logged in. Without a tag,
 * every local tag of the repository is pushed, as the Engine API (and so docker-py) does: on
 * Podman, whose API pushes `:latest` alone then, one tag after the other.
 * Transient failures are retried as `pushImage` retries them; a refused login is explained as
 * `pushImage` explains it.
 *
 * @throws InvalidArgumentError for a reference the docker CLI would not accept.
 * @throws PushError for every failure the engine or registry reports.
 */
export async function pushReference(
  repository: string,
  tag: string | undefined,
  options: PushReferenceOptions = {},
): Promise<PushedReference> {
  const reference = tag === undefined ? repository : `${repository}:${tag}`;
  validateReference(repository, tag ?? null, "The image to push");
  const { signal, env, auth, onProgress } = options;
  signal?.throwIfAborted();
  const engine = openEngine({ docker: options.docker, env });
  await engine.ping(signal ? { signal } : {});
  const credentials = await lookupRegistryAuth(reference, {
    ...(env ? { env } : {}),
    ...(auth ? { auth } : {}),
    ...(signal ? { signal } : {}),
    credentialHelperTimeoutMs: options.credentialHelperTimeoutMs,
  });
  const authHeader = encodeRegistryHeader(credentials.auth ?? {});
  const login = options.login ?? { name: "options.auth", fix: "pass options.auth" };
  const explained = (error: unknown): unknown =>
    explainPushError(error, {
      host: registryOfImage(reference),
      // The lookup names logins given in code "options.auth"; this caller's are named otherwise.
      origin: credentials.origin.replace(/^options\.auth/, login.name),
      fix: login.fix,
      podman: engine.lastPing?.podman === true,
    });
  // Podman's push without a tag pushes `:latest` alone (Docker's pushes every tag): there, each
  // local tag is pushed in turn, as Docker would.
  const tags = tag === undefined && engine.lastPing?.podman ? await localTags() : [tag];
  let pushed: PushedDigest | undefined;
  for (const each of tags) {
    pushed = await withRetries(
      (attempt) => pushAttempt(engine, repository, each, authHeader, options, attempt),
      {
        ...options,
        signal,
        onRetry: ({ attempt, maxAttempts, delayMs, error }) => {
          debug("push of %s failed (attempt %d/%d): %s", reference, attempt, maxAttempts, error);
          onProgress?.({ type: "retry", operation: "push", attempt, maxAttempts, delayMs, error });
        },
      },
    ).catch((error: unknown) => {
      throw explained(error);
    });
  }
  if (pushed === undefined) {
    // Docker's own text for a repository without local tags.
    throw new PushError(`An image does not exist locally with the tag: ${repository}`);
  }
  return { reference, ...pushed };

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
        throw new PushError(engineErrorText(error), {
          statusCode: engineStatusOf(error),
          cause: error,
        });
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
