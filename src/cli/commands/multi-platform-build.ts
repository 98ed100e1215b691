/**
 * `prefect-dockerutils build --platform A,B -t NAME:TAG --push REGISTRY CONTEXT`: several
 * platforms, built and pushed as one multi-platform image (buildx's spelling, without buildx).
 * @module
 */
import {
  type BuildImageOptions,
  type BuildMultiPlatformOptions,
  buildMultiPlatformImage,
  InvalidArgumentError,
} from "../../index.js";
import type { TagFlag } from "../build-flags.js";
import { shortId } from "../format.js";
import type { ProgressRenderer } from "../progress/renderer.js";

/** What the multi-platform build needs from `build`'s flags, already parsed. */
export interface MultiPlatformFlags {
  readonly platforms: string;
  readonly tags: readonly TagFlag[];
  readonly push: string | undefined;
  readonly contextArg: string;
}

/** The registry host of `--push`'s URL, e.g. `127.0.0.1:5000` for `http://127.0.0.1:5000`. */
function registryHostOf(pushFlag: string): string {
  let url: URL | undefined;
  try {
    url = new URL(pushFlag);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.host === "") {
    throw new InvalidArgumentError(
      `--push ${JSON.stringify(pushFlag)} is not a registry URL; use one such as http://localhost:5000 or https://ghcr.io`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new InvalidArgumentError(
      "--push holds a user name or password; log in with `docker login` instead",
    );
  }
  return url.host;
}

/** Where a multi-platform build pushes: the reference of its index and its other tags. */
export interface MultiPlatformTarget {
  /** `host/name:tag` of the first `-t`. */
  readonly reference: string;
  /** The other `-t` tags (of the same repository). */
  readonly additionalTags: readonly string[];
}

/**
 * Checks the flags a multi-platform build needs together (`--push` and `-t` of one repository)
 * and resolves where it pushes, before anything is built.
 */
export function multiPlatformTarget(flags: MultiPlatformFlags): MultiPlatformTarget {
  const [first, ...others] = flags.tags;
  if (flags.push === undefined || first === undefined) {
    throw new InvalidArgumentError(
      `--platform ${flags.platforms} names several platforms, which go to a registry as one image: add --push REGISTRY and -t NAME[:TAG], e.g. --push http://localhost:5000 -t team/app:1`,
    );
  }
  const host = registryHostOf(flags.push);
  const other = others.find((tag) => tag.pushName !== first.pushName);
  if (other) {
    throw new InvalidArgumentError(
      `-t ${other.reference}: a multi-platform push puts its index under tags of one repository (${first.pushName}); give the others as -t ${first.pushName}:TAG`,
    );
  }
  return {
    reference: `${host}/${first.pushName}:${first.tag}`,
    additionalTags: others.map((tag) => tag.tag),
  };
}

/** The options of the multi-platform build the flags ask for. */
export function multiPlatformOptions(
  flags: MultiPlatformFlags,
  target: MultiPlatformTarget,
  options: Omit<BuildImageOptions, "tag" | "platform">,
): BuildMultiPlatformOptions {
  return { ...options, platforms: flags.platforms, additionalTags: target.additionalTags };
}

/**
 * Builds every platform and pushes one image index; prints the index digest and the pushed
 * reference on `stdout`.
 */
export async function multiPlatformBuild(
  renderer: ProgressRenderer,
  stdout: { write(text: string): unknown },
  context: string,
  flags: MultiPlatformFlags,
  options: Omit<BuildImageOptions, "tag" | "platform">,
): Promise<void> {
  const target = multiPlatformTarget(flags);
  renderer.start("build", `${flags.contextArg} for ${flags.platforms}`);
  const image = await buildMultiPlatformImage(context, target.reference, {
    ...multiPlatformOptions(flags, target, options),
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
