/** How much of a step's text is looked at: a Dockerfile line can be long, an image name is not. */
const MAX_STEP_CHARS = 4096;

/** The image of `FROM [--platform=...] image [AS name]`, with `:latest` as the engine pulls it. */
function fromImage(instruction: string): string | undefined {
  const words = instruction.slice(0, MAX_STEP_CHARS).trim().split(/\s+/);
  if (words[0]?.toUpperCase() !== "FROM") return undefined;
  const image = words.slice(1).find((word) => !word.startsWith("--"));
  if (image === undefined || image === "" || image.toLowerCase() === "scratch") return undefined;
  return withLatest(image);
}

/** `image:latest` when `image` names no tag (after its last `/`) and no digest. */
function withLatest(image: string): string {
  if (image.includes("@") || image.includes("$")) return image;
  const lastComponent = image.slice(image.lastIndexOf("/") + 1);
  return lastComponent.includes(":") ? image : `${image}:latest`;
}

/** BuildKit's normalised name as the docker CLI shows it: without `docker.io/(library/)`. */
function familiar(reference: string): string {
  if (reference.startsWith("docker.io/library/"))
    return reference.slice("docker.io/library/".length);
  if (reference.startsWith("docker.io/")) return reference.slice("docker.io/".length);
  return reference;
}

/**
 * The base image a failed build step was getting, if the step is one that gets it: the classic
 * builder's `FROM ...` instruction, or BuildKit's `[internal] load metadata for <image>` and
 * `[stage 1/3] FROM <image>` steps.
 */
export function baseImageOfStep(step: string | undefined): string | undefined {
  if (step === undefined) return undefined;
  const text = step.slice(0, MAX_STEP_CHARS);
  const metadata = /^\[internal\] load metadata for (\S+)$/.exec(text);
  if (metadata?.[1] !== undefined) return familiar(metadata[1]);
  const buildKitFrom = /^\[[^\]]*\] FROM (\S+)/.exec(text);
  if (buildKitFrom?.[1] !== undefined) return familiar(buildKitFrom[1]);
  return fromImage(text);
}

/**
 * `message` with the base image named in front when the failed `step` was getting it: for a
 * misspelled `FROM busyboxx` the engine's text is only the registry's (`Get
 * "https://registry-1.docker.io/v2/": ... no such host`), which does not name the image.
 */
export function withBaseImage(step: string | undefined, message: string): string {
  const image = baseImageOfStep(step);
  return image === undefined ? message : `cannot pull the base image ${image}: ${message}`;
}
