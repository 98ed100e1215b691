/**
 * prefect-docker's `build_docker_image` deployment step.
 * @module
 */
import path from "node:path";
import { tagImage } from "../engine/tag-image.js";
import { BuildError, EngineHttpError } from "../errors.js";
import {
  type BuildImageOptions,
  normalizeBuildImageOptions,
} from "../operation/build-image-options.js";
import { buildImageInternal, checkContextFolder } from "../prefect/build-image.js";
import { buildMultiPlatformImage } from "../prefect/build-multi-platform.js";
import { timestampTag } from "../python/slugify.js";
import { writeProgress } from "../streams/progress.js";
import { booleanOption, stringOption } from "../validate.js";
import { type AutoDockerfile, persistDockerfile, withDockerfile } from "./auto-dockerfile.js";
import { type BuildBackend, builderOf } from "./build-backend.js";
import { mapBuildKwargs } from "./build-kwargs.js";
import { runCachedStep } from "./cached-step.js";
import {
  tagList,
  validateReference,
  validateStepImageName,
  validateTag,
  withDefaultNamespace,
} from "./deploy-image-name.js";
import { pushReference } from "./push-reference.js";
import { StepCache } from "./step-cache.js";
import type { BuildStepOptions, StepSettings } from "./step-options.js";

/**
 * The inputs of the `build_docker_image` step, as a `prefect.yaml` step carries them. Other keys
 * are build options under docker-py's names (`build_backend: docker-py`) or python-on-whales'
 * (`buildx`).
 */
export interface BuildDockerImageInputs {
  /** The image name, registry and namespace included (a tag here is not split off). */
  readonly image_name: string;
  /** The Dockerfile, relative to `path`, or `"auto"` for Prefect's. @default "Dockerfile" */
  readonly dockerfile?: string;
  /** The tag. @default the slug of the current UTC time, e.g. `2026-11-27t03-52-22-123456-00-00` */
  readonly tag?: string | null;
  /** More tags for the same image. @default [] */
  readonly additional_tags?: readonly string[] | null;
  /** Build even when the same inputs were built before in this process. @default false */
  readonly ignore_cache?: boolean;
  /** With `dockerfile: auto`, also write it to `dockerfile_output_path`. @default false */
  readonly persist_dockerfile?: boolean;
  /** Where `persist_dockerfile` writes, relative to `path`. @default "Dockerfile.generated" */
  readonly dockerfile_output_path?: string | null;
  /** `"docker-py"` (the classic builder) or `"buildx"` (BuildKit). @default "docker-py" */
  readonly build_backend?: BuildBackend;
  /** The build context. @default the current directory */
  readonly path?: string;
  /** The step's id in `prefect.yaml`, for Prefect's step runner: accepted and ignored. */
  readonly id?: string;
  /** Packages Prefect's step runner installs first: accepted and ignored. */
  readonly requires?: string | readonly string[];
  /** Any other build option, by docker-py's or python-on-whales' name. */
  readonly [buildOption: string]: unknown;
}

/** What the `build_docker_image` step returns, for `{{ step_id.key }}` templating. */
export interface BuildDockerImageResult {
  /** The image name, with the default namespace when one applied. */
  readonly image_name: string;
  /** The tag. */
  readonly tag: string;
  /** `image_name:tag`. */
  readonly image: string;
  /** The built image's ID, `sha256:...` (Prefect's buildx backend returns the tag). */
  readonly image_id: string;
  /** The additional tags given, `[]` when none. */
  readonly additional_tags: string[];
}

const NAMED_INPUTS = new Set([
  "image_name",
  "dockerfile",
  "tag",
  "additional_tags",
  "ignore_cache",
  "persist_dockerfile",
  "dockerfile_output_path",
  "build_backend",
]);

/** prefect-docker's hint for errors that say "denied", appended to the engine's message. */
export const DENIED_MESSAGE_HINT =
  "Docker reported access denied. This can happen if the base image requires authentication, if you are not logged in to the registry, or if the image name is invalid. Check your image name (no spaces) and run `docker login` for the registry you are using.";

const cache = new StepCache<BuildDockerImageResult>("build_docker_image");

/**
 * prefect-docker's `build_docker_image` step, with the same inputs, outputs, defaults and
 * messages. Beyond Prefect, `dockerfile: auto` generates for `path` and never writes there,
 * `labels` are kept, and an unknown build option fails by name. Identical inputs build once per
 * process and engine (see `clearStepCache`).
 *
 * @param inputs - The step's mapping from `prefect.yaml` (`id` and `requires` are ignored).
 * @throws InvalidArgumentError for a bad input; BuildError or PushError when the engine fails.
 * @example
 * ```ts
 * const build = await buildDockerImage({ image_name: "ghcr.io/team/flows", tag: "v1", dockerfile: "auto" });
 * // { image_name: "ghcr.io/team/flows", tag: "v1", image: "ghcr.io/team/flows:v1", image_id: "sha256:…", additional_tags: [] }
 * ```
 */
export async function buildDockerImage(
  inputs: BuildDockerImageInputs,
  options: BuildStepOptions = {},
): Promise<BuildDockerImageResult> {
  return runCachedStep(
    cache,
    inputs,
    options,
    (rest, settings) => ({
      baseImage: settings.baseImage ?? null,
      cwd: rest.path === undefined || !path.isAbsolute(String(rest.path)) ? process.cwd() : null,
    }),
    build,
  );
}

async function build(
  inputs: Omit<BuildDockerImageInputs, "ignore_cache">,
  options: StepSettings,
): Promise<BuildDockerImageResult> {
  const { now, baseImage, ...operation } = options;
  const { env, signal, streamProgressTo: output } = operation;
  const imageName = withDefaultNamespace(validateStepImageName(inputs.image_name), env);
  const builder = builderOf(inputs.build_backend, "Expected") ?? "classic";
  const kwargs = Object.fromEntries(
    Object.entries(inputs).filter(([key]) => !NAMED_INPUTS.has(key)),
  );
  const mapped = mapBuildKwargs(kwargs, builder);
  const dockerfile = stringOption("dockerfile", inputs.dockerfile) ?? "Dockerfile";
  const persist = booleanOption("persist_dockerfile", inputs.persist_dockerfile, false);
  const outputPath =
    inputs.dockerfile_output_path === null || inputs.dockerfile_output_path === ""
      ? "Dockerfile.generated"
      : (stringOption("dockerfile_output_path", inputs.dockerfile_output_path) ??
        "Dockerfile.generated");
  const tag =
    inputs.tag === undefined || inputs.tag === null || inputs.tag === ""
      ? timestampTag(now())
      : validateTag(inputs.tag, "tag");
  const additionalTags = tagList(inputs.additional_tags);
  validateReference(imageName, tag, "image_name and tag");
  signal?.throwIfAborted();

  const context = path.resolve(mapped.context ?? process.cwd());
  await checkContextFolder(context, "pass the folder to build in path");

  const buildOptions: BuildImageOptions = {
    ...mapped.options,
    ...operation,
    builder,
    tag: `${imageName}:${tag}`,
    pull: mapped.pull,
    streamProgressTo: mapped.quiet ? undefined : output,
    inactivityTimeoutMs: mapped.options.inactivityTimeoutMs ?? operation.inactivityTimeoutMs,
  };
  // Checked before anything is written (persist_dockerfile) or sent.
  const checked = normalizeBuildImageOptions({ ...buildOptions, dockerfile }, "options");
  const auto: AutoDockerfile = {
    refusal: `Dockerfile already exists. ${path.join(context, "Dockerfile")} is in the way of dockerfile: auto; build with dockerfile: Dockerfile to use it, or move it away.`,
    baseImage,
    persist: persist
      ? async (lines) => {
          await persistDockerfile(context, outputPath, lines);
          writeProgress(
            output,
            `Persisting auto-generated Dockerfile to ${outputPath}. Please update your 'dockerfile' value to use this Dockerfile for subsequent runs.\n`,
          );
        }
      : undefined,
  };
  const result = { image_name: imageName, tag, image: `${imageName}:${tag}` };
  if (mapped.platforms !== undefined) {
    // `image_id` is the index digest: the engine keeps no image of it.
    const { tag: _tag, platform: _platform, ...rest } = buildOptions;
    const pushed = await withDeniedHint(
      withDockerfile(context, dockerfile, auto, (file) =>
        buildMultiPlatformImage(context, result.image, {
          ...rest,
          platforms: mapped.platforms as readonly string[],
          additionalTags,
          dockerfile: file,
        }),
      ),
    );
    return { ...result, image_id: pushed.digest, additional_tags: additionalTags };
  }
  const imageId = await withDeniedHint(
    withDockerfile(context, dockerfile, auto, (file) =>
      buildImageInternal(context, { ...checked, dockerfile: file }),
    ),
  );
  for (const more of additionalTags) {
    // prefect-docker's `image.tag(repository, tag)`: a refusal fails the build step.
    await tagImage(imageId, `${imageName}:${more}`, operation).catch((error: unknown) => {
      signal?.throwIfAborted();
      throw new BuildError((error as Error).message, {
        statusCode: error instanceof EngineHttpError ? error.statusCode : undefined,
        cause: error,
      });
    });
  }
  if (mapped.push) {
    for (const pushed of [tag, ...additionalTags]) {
      await pushReference(imageName, pushed, {
        ...operation,
        login: {
          name: "options.auth",
          fix: "push with the push_docker_image step and its credentials",
        },
      });
    }
  }
  return { ...result, image_id: imageId, additional_tags: additionalTags };
}

/** prefect-docker's `_build_error_with_guidance`: the hint after errors that say "denied". */
async function withDeniedHint<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!(error instanceof BuildError) || !error.message.toLowerCase().includes("denied")) {
      throw error;
    }
    throw new BuildError(`${error.message}\n${DENIED_MESSAGE_HINT}`, {
      statusCode: error.statusCode,
      step: error.step,
      logTail: error.logTail,
      cause: error,
    });
  }
}
