/**
 * prefect-docker's `push_docker_image` deployment step.
 * @module
 */
import type { RegistryAuth } from "../auth/credentials.js";
import { InvalidArgumentError } from "../errors.js";
import { DOCKER_HUB_KEY } from "../reference/registry-key.js";
import { booleanOption, objectOption, stringOption } from "../validate.js";
import { type BuildBackend, builderOf } from "./build-backend.js";
import { runCachedStep } from "./cached-step.js";
import {
  tagList,
  validateStepImageName,
  validateTag,
  withDefaultNamespace,
} from "./deploy-image-name.js";
import { pushReference } from "./push-reference.js";
import { StepCache } from "./step-cache.js";
import type { StepOptions, StepSettings } from "./step-options.js";

/** Registry credentials as prefect-docker's `DockerRegistryCredentials` block gives them. */
export interface DockerRegistryCredentials {
  /** The user name. */
  readonly username: string;
  /** The password or access token. */
  readonly password: string;
  /**
   * The registry the login is for, e.g. `https://registry.example.com` or `ghcr.io`.
   * @default Docker Hub, as docker-py's `login()`
   */
  readonly registry_url?: string | null;
  /** docker-py's `login(reauth=...)`: accepted and ignored (nothing logs in). @default true */
  readonly reauth?: boolean;
}

/** The inputs of the `push_docker_image` step, as a `prefect.yaml` step carries them. */
export interface PushDockerImageInputs {
  /** The image name, registry and namespace included, as the build step returned it. */
  readonly image_name: string;
  /** The tag to push; without one, every local tag of `image_name` (as docker-py's `push`). */
  readonly tag?: string | null;
  /** Credentials for this push only: never stored, and the engine is never logged in. */
  readonly credentials?: DockerRegistryCredentials | null;
  /** More tags to push, each already on the image (the build step's `additional_tags`). */
  readonly additional_tags?: readonly string[] | null;
  /** Push even when the same inputs were pushed before in this process. @default false */
  readonly ignore_cache?: boolean;
  /** Accepted as in Prefect; both push through the engine. @default "docker-py" */
  readonly build_backend?: BuildBackend;
  /** The step's id in `prefect.yaml`, for Prefect's step runner: accepted and ignored. */
  readonly id?: string;
  /** Packages Prefect's step runner installs first: accepted and ignored. */
  readonly requires?: string | readonly string[];
}

/** What the `push_docker_image` step returns, for `{{ step_id.key }}` templating. */
export interface PushDockerImageResult {
  /** The image name, with the default namespace when one applied. */
  readonly image_name: string;
  /** The tag, `null` when none was given. */
  readonly tag: string | null;
  /** `image_name:tag`, or `image_name` without a tag (Prefect gives `image_name:None`). */
  readonly image: string;
  /** The additional tags given, `[]` when none. */
  readonly additional_tags: string[];
}

const INPUTS = new Set([
  "image_name",
  "tag",
  "credentials",
  "additional_tags",
  "ignore_cache",
  "build_backend",
]);
const CREDENTIAL_FIELDS = new Set(["username", "password", "registry_url", "reauth"]);

const cache = new StepCache<PushDockerImageResult>("push_docker_image");

/**
 * prefect-docker's `push_docker_image` step, with the same inputs, outputs and defaults. Beyond
 * Prefect, status lines stream as each push runs and `credentials` go with these pushes only.
 * Identical inputs push once per process and engine (see `clearStepCache`).
 *
 * @throws InvalidArgumentError for a bad input; PushError for a failed push (Prefect's `OSError`).
 * @example
 * ```ts
 * await pushDockerImage({ image_name: build.image_name, tag: build.tag, additional_tags: build.additional_tags });
 * ```
 */
export async function pushDockerImage(
  inputs: PushDockerImageInputs,
  options: StepOptions = {},
): Promise<PushDockerImageResult> {
  return runCachedStep(cache, inputs, options, () => ({}), push);
}

async function push(
  inputs: Omit<PushDockerImageInputs, "ignore_cache">,
  options: StepSettings,
): Promise<PushDockerImageResult> {
  const unknown = Object.keys(inputs).find((key) => !INPUTS.has(key));
  if (unknown !== undefined) {
    throw new InvalidArgumentError(
      `Unknown input ${JSON.stringify(unknown)} of push_docker_image; it takes ${[...INPUTS].join(", ")}`,
    );
  }
  const imageName = withDefaultNamespace(validateStepImageName(inputs.image_name), options.env);
  const tag =
    inputs.tag === undefined || inputs.tag === null || inputs.tag === ""
      ? null
      : validateTag(inputs.tag, "tag");
  const additionalTags = tagList(inputs.additional_tags);
  builderOf(inputs.build_backend, "Expected");
  const pushOptions = {
    ...options,
    auth: credentialsAuth(inputs.credentials),
    login: { name: "the step's credentials", fix: "pass credentials" },
  };
  for (const each of [tag ?? undefined, ...additionalTags]) {
    await pushReference(imageName, each, pushOptions);
  }
  return {
    image_name: imageName,
    tag,
    image: tag === null ? imageName : `${imageName}:${tag}`,
    additional_tags: additionalTags,
  };
}

/** The block's fields as a login for its registry alone, so no other registry ever sees them. */
function credentialsAuth(credentials: unknown): Readonly<Record<string, RegistryAuth>> | undefined {
  const fields = objectOption<Record<string, unknown>>(
    "credentials",
    credentials ?? undefined,
    "a mapping with username, password and registry_url",
  );
  if (fields === undefined) return undefined;
  const unknown = Object.keys(fields).find((key) => !CREDENTIAL_FIELDS.has(key));
  if (unknown !== undefined) {
    throw new InvalidArgumentError(
      `credentials has the unknown field ${JSON.stringify(unknown)}; it takes username, password, registry_url and reauth`,
    );
  }
  const username = stringOption("credentials.username", fields.username);
  const password = typeof fields.password === "string" ? fields.password : undefined;
  if (username === undefined || password === undefined || password === "") {
    // Never show the password, not even its type.
    throw new InvalidArgumentError(
      "credentials needs a username and a password (non-empty strings)",
    );
  }
  booleanOption("credentials.reauth", fields.reauth, true);
  const registry =
    fields.registry_url === undefined || fields.registry_url === null || fields.registry_url === ""
      ? DOCKER_HUB_KEY
      : (stringOption("credentials.registry_url", fields.registry_url) as string);
  return { [registry]: { username, password } };
}
