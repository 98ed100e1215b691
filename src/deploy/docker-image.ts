/**
 * Prefect's `prefect.docker.DockerImage`: the image `flow.deploy()` builds and pushes.
 * @module
 */
import path from "node:path";
import type { Writable } from "node:stream";
import { InvalidArgumentError } from "../errors.js";
import {
  type Builder,
  type BuildImageOptions,
  type NormalizedBuildImageOptions,
  normalizeBuildImageOptions,
} from "../operation/build-image-options.js";
import { buildImageInternal } from "../prefect/build-image.js";
import { buildMultiPlatformImage } from "../prefect/build-multi-platform.js";
import { parseImageTag } from "../prefect/image-name.js";
import type { PushResult } from "../prefect/push-image.js";
import { pythonRepr } from "../python/repr.js";
import { nowMicroseconds, timestampTag } from "../python/slugify.js";
import { formatPlatform, parsePlatformList } from "../registry/platform.js";
import { booleanOption, optionsObject, show, signalOption, stringOption } from "../validate.js";
import { type AutoDockerfile, withDockerfile } from "./auto-dockerfile.js";
import { type BuildBackend, builderOf } from "./build-backend.js";
import { validateReference, withDefaultNamespace } from "./deploy-image-name.js";
import { pushReference } from "./push-reference.js";
import { progressOutput } from "./step-options.js";

/** Options of the {@link DockerImage} constructor: the image's, and `buildImage`'s. */
export interface DockerImageOptions
  extends Omit<BuildImageOptions, "tag" | "dockerfile" | "builder" | "streamProgressTo"> {
  /**
   * The tag, when `name` has none (giving both throws, as in Prefect).
   * @default the tag in `name`, else the slug of the current UTC time (`2026-11-27t03-52-22-123456-00-00`)
   */
  readonly tag?: string;
  /** The Dockerfile, relative to `context`, or `"auto"` for Prefect's. @default "auto" */
  readonly dockerfile?: string;
  /** Receives build output and push status lines; `null` for silence. @default process.stdout */
  readonly streamProgressTo?: Writable | null;
  /**
   * `"classic"` or `"buildkit"`, or Prefect's names for them, `"docker-py"` and `"buildx"`.
   * @default "buildkit" when the environment has `DOCKER_BUILDKIT=1`, else "classic"
   */
  readonly builder?: BuildBackend;
  /** The build context. @default the current directory when `build()` runs */
  readonly context?: string;
  /** Pull the base image even when the engine has it. @default true (Prefect's) */
  readonly pull?: boolean;
  /** BuildKit only: `build()` pushes the image too, and `push()` does nothing. @default false */
  readonly push?: boolean;
  /**
   * Several platforms, e.g. `["linux/amd64", "linux/arm64"]` (or buildx's `platform:
   * "linux/amd64,linux/arm64"`), pushed as one image index under {@link DockerImage.reference};
   * needs `push: true` and BuildKit.
   * @default one platform, `platform` (the engine's when absent)
   */
  readonly platforms?: readonly string[];
  /** The image `dockerfile: "auto"` starts `FROM`. @default getPrefectImageName() */
  readonly baseImage?: string;
  /**
   * Where the default namespace (`PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE`), `DOCKER_BUILDKIT`, the
   * engine and the Docker configuration are read from.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** The clock for the default tag, in microseconds since the epoch. */
  readonly now?: () => bigint;
}

/** Options of {@link DockerImage.build} and {@link DockerImage.push}. */
export interface DockerImageCallOptions {
  /** Cancels this build or push (instead of the constructor's `signal`). */
  readonly signal?: AbortSignal;
}

/** The constructor options that are the image's own, not `buildImage`'s. */
type OwnOptions =
  | "platforms"
  | "tag"
  | "dockerfile"
  | "streamProgressTo"
  | "builder"
  | "context"
  | "push"
  | "baseImage"
  | "now";

/**
 * Prefect's `DockerImage`, with its rules and messages: an image to build and push for a
 * deployment. Beyond Prefect, `build()` resolves to the image ID, `"auto"` generates for the
 * context and never writes there, `labels` are kept, and a digest in `name` is refused.
 *
 * @example
 * ```ts
 * const image = new DockerImage("ghcr.io/team/flows", { tag: "v1", context: "./flows" });
 * const imageId = await image.build(); // FROM prefecthq/prefect:…, COPY . /opt/prefect/flows/
 * await image.push();
 * // deploy with job_variables: { image: image.reference }
 * ```
 */
export class DockerImage {
  /** The repository, registry and (default) namespace included. */
  readonly name: string;
  /** The tag. */
  readonly tag: string;
  /** The Dockerfile, or `"auto"`. */
  readonly dockerfile: string;
  /** Where build output and push status lines go; `null` for nowhere. */
  readonly streamProgressTo: Writable | null;
  /** The builder `build()` uses. */
  readonly builder: Builder;
  /** The rest of the options, for `buildImage` (Prefect's `build_kwargs`). */
  readonly buildOptions: Readonly<Omit<DockerImageOptions, OwnOptions>>;
  readonly #context: string | undefined;
  readonly #push: boolean;
  readonly #baseImage: string | undefined;
  readonly #platforms: readonly string[] | undefined;
  #pushedDuringBuild: PushResult | undefined;
  readonly #settings: NormalizedBuildImageOptions;

  /**
   * @param name - The image name, e.g. `registry.example.com/team/app` or `team/app:v1`.
   * @throws InvalidArgumentError for a bad builder name, a tag given twice, a digest in `name`, a
   *   name that is not an image reference, or `push` without BuildKit.
   */
  constructor(name: string, options: DockerImageOptions = {}) {
    const {
      tag,
      dockerfile = "auto",
      streamProgressTo,
      builder,
      context,
      push,
      baseImage,
      platforms,
      now = nowMicroseconds,
      ...buildOptions
    } = optionsObject("options", options);
    const env = buildOptions.env ?? process.env;
    const chosen = builderOf(builder, "Must be");
    if (typeof name !== "string" || name === "") {
      throw new InvalidArgumentError(
        `name must be an image name such as "registry.example.com/team/app", got ${show(name)}`,
      );
    }
    const givenTag = stringOption("tag", tag === "" ? undefined : tag);
    const [imageName, imageTag] = parseImageTag(name);
    if (name.includes("@")) {
      throw new InvalidArgumentError(
        `The image name ${JSON.stringify(name)} has a digest (${imageTag}). A digest names an image that already exists and cannot be given to a new build: pass ${JSON.stringify(imageName)}, with a tag if you want one`,
      );
    }
    if (givenTag && imageTag) {
      throw new InvalidArgumentError(
        `Only one tag can be provided - both ${pythonRepr(imageTag)} and ${pythonRepr(givenTag)} were provided as tags.`,
      );
    }
    this.streamProgressTo = progressOutput(streamProgressTo);
    this.name = withDefaultNamespace(imageName, env);
    this.tag = givenTag || imageTag || timestampTag(now());
    validateReference(this.name, this.tag, "The image reference");
    this.dockerfile = stringOption("dockerfile", dockerfile) ?? "auto";
    const several =
      platforms !== undefined
        ? parsePlatformList(platforms, "platforms").map(formatPlatform)
        : typeof buildOptions.platform === "string" && buildOptions.platform.includes(",")
          ? parsePlatformList(buildOptions.platform, "platform").map(formatPlatform)
          : undefined;
    if (several !== undefined && platforms !== undefined && buildOptions.platform !== undefined) {
      throw new InvalidArgumentError("Give platform or platforms, not both");
    }
    if (several !== undefined) delete (buildOptions as { platform?: string }).platform;
    this.#platforms = several;
    // Checked now, not at build time.
    this.#settings = normalizeBuildImageOptions(
      {
        ...buildOptions,
        ...(chosen ? { builder: chosen } : {}),
        tag: this.reference,
        pull: buildOptions.pull ?? true,
        streamProgressTo: this.streamProgressTo ?? undefined,
      },
      "options",
    );
    this.builder = this.#settings.builder;
    this.#context = stringOption("context", context);
    this.#push = booleanOption("push", push, false);
    this.#baseImage = stringOption("baseImage", baseImage);
    if (this.#push && this.builder !== "buildkit") {
      throw new InvalidArgumentError(
        'push: true pushes during a BuildKit build (Prefect\'s buildx backend); use builder: "buildkit", or call push() after build()',
      );
    }
    if (several !== undefined && several.length > 1 && !this.#push) {
      throw new InvalidArgumentError(
        "Multi-platform builds require push=True because buildx cannot load multi-platform results into the local Docker daemon. Either set push=True or build for a single platform.",
      );
    }
    this.buildOptions = { ...buildOptions };
  }

  /** `name:tag`, what a deployment's `job_variables.image` gets. */
  get reference(): string {
    return `${this.name}:${this.tag}`;
  }

  /** Whether `build()` pushed the image already (BuildKit with `push: true`). */
  get pushedDuringBuild(): boolean {
    return this.#pushedDuringBuild !== undefined;
  }

  /** The platforms `build()` builds as one image index, when several were given. */
  get platforms(): readonly string[] | undefined {
    return this.#platforms;
  }

  /**
   * Builds the image as {@link DockerImage.reference} and resolves to its ID (with several
   * platforms, to the pushed index digest: the engine keeps no image of it).
   *
   * @throws InvalidArgumentError for `dockerfile: "auto"` when the context has a Dockerfile.
   * @throws BuildError for a failed build, PushError for a failed push.
   */
  async build(options: DockerImageCallOptions = {}): Promise<string> {
    const signal = signalOption("signal", optionsObject("options", options).signal);
    const context = path.resolve(this.#context ?? process.cwd());
    const auto: AutoDockerfile = {
      refusal: `Failed to generate Dockerfile. Dockerfile already exists in ${context}; pass dockerfile: "Dockerfile" to build with it, or move it away.`,
      baseImage: this.#baseImage,
    };
    if (this.#platforms !== undefined) {
      const platforms = this.#platforms;
      const pushed = await withDockerfile(context, this.dockerfile, auto, (dockerfile) =>
        buildMultiPlatformImage(context, this.reference, {
          ...this.buildOptions,
          builder: this.builder,
          pull: this.#settings.pull,
          ...(this.streamProgressTo ? { streamProgressTo: this.streamProgressTo } : {}),
          ...(signal ? { signal } : {}),
          platforms,
          dockerfile,
        }),
      );
      this.#pushedDuringBuild = {
        reference: pushed.reference,
        tag: pushed.tag,
        digest: pushed.digest,
        size: pushed.size,
        warnings: [],
      };
      return pushed.digest;
    }
    const settings = signal ? { ...this.#settings, signal } : this.#settings;
    const imageId = await withDockerfile(context, this.dockerfile, auto, (dockerfile) =>
      buildImageInternal(context, { ...settings, dockerfile }),
    );
    if (this.#push) this.#pushedDuringBuild = await this.#pushNow(signal);
    return imageId;
  }

  /**
   * Pushes {@link DockerImage.reference} with the Docker configuration's credentials for its
   * registry (the engine is never logged in) and resolves to what was pushed; when `build()`
   * pushed already, resolves to that push.
   *
   * @throws PushError for every failure the engine or registry reports.
   */
  async push(options: DockerImageCallOptions = {}): Promise<PushResult> {
    const signal = signalOption("signal", optionsObject("options", options).signal);
    return this.#pushedDuringBuild ?? this.#pushNow(signal);
  }

  async #pushNow(signal: AbortSignal | undefined): Promise<PushResult> {
    const pushed = await pushReference(this.name, this.tag, {
      ...this.#settings,
      ...(signal ? { signal } : {}),
      login: { name: "DockerImage's auth", fix: "pass auth to DockerImage" },
    });
    return { reference: this.reference, tag: this.tag, ...pushed, warnings: [] };
  }
}
