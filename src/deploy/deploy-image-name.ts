/**
 * The image-name rules of Prefect's deploy side: the default namespace and the steps' checks.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";
import { splitRepositoryPath } from "../prefect/image-name.js";
import { pythonRepr } from "../python/repr.js";
import { registryOfImage } from "../reference/image-reference.js";
import { isTag } from "../reference/reference-grammar.js";
import { show } from "../validate.js";

/**
 * Prefect's `deployments.default_docker_build_namespace` variables in pydantic's `AliasChoices`
 * order (`src/prefect/settings/models/deployments.py`): the first one set wins, even empty.
 */
export const DEFAULT_NAMESPACE_VARIABLES = [
  "PREFECT_DEPLOYMENTS_DEFAULT_DOCKER_BUILD_NAMESPACE",
  "PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE",
] as const;

/** Prefect's `PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE` setting, read from `env`. */
export function defaultDockerBuildNamespace(env: NodeJS.ProcessEnv): string | undefined {
  const variable = DEFAULT_NAMESPACE_VARIABLES.find((name) => env[name] !== undefined);
  return variable === undefined ? undefined : env[variable];
}

/** Prefect's `"/".join(filter(None, [namespace, repository]))`. */
export function withDefaultNamespace(imageName: string, env: NodeJS.ProcessEnv): string {
  const [namespace, repository] = splitRepositoryPath(imageName);
  const chosen = namespace || defaultDockerBuildNamespace(env);
  return [chosen, repository].filter(Boolean).join("/");
}

/** Python's `str.isspace()`: `\s` without U+FEFF, plus `\x1c`-`\x1f` and NEL. */
const PYTHON_SPACE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the separators are what it matches.
  /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** prefect-docker's `_validate_image_name`: no white space anywhere in the name. */
export function validateStepImageName(imageName: unknown): string {
  if (typeof imageName !== "string" || imageName === "") {
    throw new InvalidArgumentError(
      `image_name must be an image name such as "registry.example.com/team/app", got ${imageName === "" ? '""' : typeof imageName}`,
    );
  }
  if (PYTHON_SPACE.test(imageName)) {
    throw new InvalidArgumentError(
      `Invalid Docker image name ${pythonRepr(imageName)}. Image names cannot contain spaces. Use lowercase letters, numbers, and separators like '-', '_', '.', and '/'.`,
    );
  }
  return imageName;
}

/** `name:tag` by the docker CLI's grammar, before the engine says `invalid reference format`. */
export function validateReference(name: string, tag: string | null, what: string): void {
  const reference = tag === null ? name : `${name}:${tag}`;
  try {
    registryOfImage(reference);
  } catch (error) {
    throw new InvalidArgumentError(`${what}: ${(error as Error).message}`, { cause: error });
  }
}

/** A tag as the reference grammar allows it (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`). */
export function validateTag(tag: unknown, what: string): string {
  if (typeof tag === "number") {
    // YAML reads `tag: 1.10` as the number 1.1: only the quoted text says which tag was meant.
    throw new InvalidArgumentError(
      `${what} must be a string, got the number ${tag}; quote it in YAML (tag: "${tag}")`,
    );
  }
  if (typeof tag !== "string" || !isTag(tag)) {
    throw new InvalidArgumentError(
      `${what} must be a tag of letters, digits, "_", "." and "-" (at most 128, not starting with "." or "-"), got ${typeof tag === "string" ? JSON.stringify(tag) : typeof tag}`,
    );
  }
  return tag;
}

/** `additional_tags`: `None` or a list of tags. */
export function tagList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new InvalidArgumentError(
      `additional_tags must be a list of tags such as ["v1", "latest"], got ${show(value)}`,
    );
  }
  return value.map((tag, index) => validateTag(tag, `additional_tags[${index}]`));
}
