/**
 * `prefect-dockerutils build --platform A,B -t NAME:TAG --push REGISTRY CONTEXT`: several
 * platforms, built and pushed as one multi-platform image (buildx's spelling, without buildx).
 * @module
 */
import {
  type BuildMultiPlatformOptions,
  buildMultiPlatformImage,
  InvalidArgumentError,
} from "../../index.js";
import type { TagFlag } from "../build-flags.js";
import { shortId } from "../format.js";
import type { ProgressRenderer } from "../progress/renderer.js";

/**
 * Where a multi-platform build pushes (`host/name:tag` of the first `-t`, and the other `-t`
 * tags), checked before anything is built: it needs `--push` and `-t` of one repository.
 */
export function multiPlatformTarget(
  platforms: string,
  tags: readonly TagFlag[],
  push: string | undefined,
): { readonly reference: string; readonly additionalTags: readonly string[] } {
  const [first, ...others] = tags;
  if (push === undefined || first === undefined) {
    throw new InvalidArgumentError(
      `--platform ${platforms} names several platforms, which go to a registry as one image: add --push REGISTRY and -t NAME[:TAG], e.g. --push http://localhost:5000 -t team/app:1`,
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(push);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.host === "") {
    throw new InvalidArgumentError(
      `--push ${JSON.stringify(push)} is not a registry URL; use one such as http://localhost:5000 or https://ghcr.io`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new InvalidArgumentError(
      "--push holds a user name or password; log in with `docker login` instead",
    );
  }
  const other = others.find((tag) => tag.pushName !== first.pushName);
  if (other) {
    throw new InvalidArgumentError(
      `-t ${other.reference}: a multi-platform push puts its index under tags of one repository (${first.pushName}); give the others as -t ${first.pushName}:TAG`,
    );
  }
  return {
    reference: `${url.host}/${first.pushName}:${first.tag}`,
    additionalTags: others.map((tag) => tag.tag),
  };
}

/** Builds every platform and pushes one image index; prints its digest and reference. */
export async function multiPlatformBuild(
  renderer: ProgressRenderer,
  stdout: { write(text: string): unknown },
  context: string,
  reference: string,
  options: BuildMultiPlatformOptions,
): Promise<void> {
  const image = await buildMultiPlatformImage(context, reference, {
    ...options,
    onProgress: renderer.onProgress,
  });
  renderer.end({
    kind: "done",
    summary: [
      ...image.manifests.map((manifest) => `${manifest.platform}: ${shortId(manifest.digest)}`),
      `pushed ${image.reference} (index ${shortId(image.digest)})`,
    ],
  });
  stdout.write(`${image.digest}\n${image.reference}\n`);
}
