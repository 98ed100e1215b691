import { InvalidArgumentError } from "../errors.js";
import { checkImageId, checkTag, parseReference } from "../reference/image-reference.js";
import { objectOption, optionsObject, signalOption } from "../validate.js";
import type { DockerodeClient } from "./client-endpoint.js";
import { openEngine } from "./engine-connection.js";
import { enginePath } from "./engine-path.js";

/** Options of {@link tagImage}. */
export interface TagImageOptions {
  /** Cancels the request; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** The environment to find the engine in. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * A dockerode client whose engine to use (only its endpoint is used, never its request code).
   * @default the engine `env` names
   */
  readonly docker?: DockerodeClient;
}

/**
 * Gives `image` the name `reference`, as `docker tag` does: `[registry/]repository[:tag]`, the tag
 * `latest` when it has none. The image keeps its other names.
 *
 * @param image - an image ID, or a name the engine knows, e.g. `sha256:...` or `my-app:1`.
 * @param reference - the new name, e.g. `ghcr.io/team/app:1.0`; no digest.
 * @throws InvalidArgumentError for a bad image, reference or option, before any request;
 *   EngineHttpError with the engine's message when it refuses (404 for an unknown image);
 *   EngineUnreachableError when the engine cannot be reached.
 * @example
 * ```ts
 * const imageId = await buildImage("./app", { tag: "app:1.0" });
 * await tagImage(imageId, "app:latest");
 * ```
 */
export async function tagImage(
  image: string,
  reference: string,
  options?: TagImageOptions,
): Promise<void> {
  const given = optionsObject("tagImage's options", options);
  const signal = signalOption("signal", given.signal);
  const env = objectOption<NodeJS.ProcessEnv>("env", given.env, "an environment object");
  const docker = objectOption<DockerodeClient>(
    "docker",
    given.docker,
    "a dockerode client such as new Dockerode()",
  );
  checkImageId(image, "image");
  const parts = typeof reference === "string" ? parseReference(reference) : undefined;
  if (!parts || parts.digest !== undefined) {
    throw new InvalidArgumentError(
      `reference must be an image name with an optional tag and no digest, such as "team/app:1.0" or "ghcr.io/team/app", got ${JSON.stringify(String(reference).slice(0, 200))}`,
    );
  }
  const tag = checkTag(parts.tag ?? "latest", "reference's tag");
  signal?.throwIfAborted();
  const engine = openEngine({ docker, env });
  await engine.requestJson({
    method: "POST",
    path: enginePath`/images/${image}/tag`,
    query: { repo: parts.name, tag },
    ...(signal ? { signal } : {}),
  });
}
