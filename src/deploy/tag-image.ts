/**
 * Tagging a built image under more names, as prefect-docker's `image.tag(repository, tag)`.
 * @module
 */
import type { DockerodeClient } from "../engine/client-endpoint.js";
import { openEngine } from "../engine/engine-connection.js";
import { enginePath } from "../engine/engine-path.js";
import { BuildError, EngineHttpError } from "../errors.js";

/** Options of {@link tagImage}. */
export interface TagImageOptions {
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly docker?: DockerodeClient | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Gives `imageId` the tags `repository:tag` for every tag, in order.
 *
 * @throws BuildError with the engine's message when the engine refuses a tag (it is part of the
 *   build step).
 */
export async function tagImage(
  imageId: string,
  repository: string,
  tags: readonly string[],
  options: TagImageOptions = {},
): Promise<void> {
  const engine = openEngine({ docker: options.docker, env: options.env });
  for (const tag of tags) {
    try {
      await engine.requestJson({
        method: "POST",
        path: enginePath`/images/${imageId}/tag`,
        query: { repo: repository, tag },
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      options.signal?.throwIfAborted();
      throw new BuildError(error instanceof Error ? error.message : String(error), {
        statusCode: error instanceof EngineHttpError ? error.statusCode : undefined,
        cause: error,
      });
    }
  }
}
