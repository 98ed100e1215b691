/**
 * `parse_image_tag`, `split_repository_path` and `format_outlier_version_name` of
 * `prefect.utilities.dockerutils`, with Python's `str.split` semantics.
 * @module
 */

import { InvalidArgumentError } from "../errors.js";

const VALID_IMAGE_NAME =
  'a valid image name is [REGISTRY[:PORT]/]REPOSITORY[:TAG] or [REGISTRY[:PORT]/]REPOSITORY@DIGEST, e.g. "prefecthq/prefect:3-latest" or "localhost:5000/team/app@sha256:abc123"';

/** Python's `a, b = part.split(separator)`, throwing where Python raises `ValueError`. */
function splitInTwo(name: string, part: string, separator: "@" | ":"): [string, string] {
  const pieces = part.split(separator);
  if (pieces.length !== 2) {
    throw new InvalidArgumentError(
      `Invalid image name ${JSON.stringify(name)}: ${JSON.stringify(part)} contains more than one ${JSON.stringify(separator)} (Python raises "ValueError: too many values to unpack (expected 2)"); ${VALID_IMAGE_NAME}`,
    );
  }
  return [pieces[0] ?? "", pieces[1] ?? ""];
}

/**
 * Splits an image reference into `[name, tagOrDigest]` (`null` for neither), exactly like
 * Prefect's `parse_image_tag`: only the part after the first `/` is searched, and a digest wins
 * over a tag, which then stays in the name (`app:1@sha256:abc` gives `["app:1", "sha256:abc"]`).
 *
 * @throws InvalidArgumentError where Python raises `ValueError`: more than one `@`, or no `@` and
 *   more than one `:` (e.g. `"a:b:c"`).
 * @example
 * ```ts
 * parseImageTag("hostname.io:5050/dir/subdir:latest"); // ["hostname.io:5050/dir/subdir", "latest"]
 * parseImageTag("prefecthq/prefect@sha256:abc123");    // ["prefecthq/prefect", "sha256:abc123"]
 * parseImageTag("simpleimage");                        // ["simpleimage", null]
 * ```
 */
export function parseImageTag(name: string): [string, string | null] {
  const slash = name.indexOf("/");
  if (slash === -1) {
    if (name.includes("@")) return splitInTwo(name, name, "@");
    if (name.includes(":")) return splitInTwo(name, name, ":");
    return [name, null];
  }
  const indexName = name.slice(0, slash);
  const imagePath = name.slice(slash + 1);
  let path = imagePath;
  let tag: string | null = null;
  if (imagePath.includes("@")) [path, tag] = splitInTwo(name, imagePath, "@");
  else if (imagePath.includes(":")) [path, tag] = splitInTwo(name, imagePath, ":");
  return [`${indexName}/${path}`, tag];
}

/**
 * Splits a repository path into `[namespace, repository]` exactly like Prefect's
 * `split_repository_path` (`split("/", 2)`: `a/b/c/d` gives `["a/b", "c/d"]`); the namespace is
 * `null` without a `/`, and a tag stays on the repository.
 * @example
 * ```ts
 * splitRepositoryPath("prefecthq/prefect:2.1.1");     // ["prefecthq", "prefect:2.1.1"]
 * splitRepositoryPath("hostname.io:5050/dir/subdir"); // ["hostname.io:5050/dir", "subdir"]
 * splitRepositoryPath("simpleimage");                 // [null, "simpleimage"]
 * ```
 */
export function splitRepositoryPath(path: string): [string | null, string] {
  // `split("/", 2)` makes at most three parts, the last one the repository. Python then tests
  // `"." in parts[0] or ":" in parts[0]` for two parts, but both branches build the same pair.
  const first = path.indexOf("/");
  if (first === -1) return [null, path];
  const second = path.indexOf("/", first + 1);
  const cut = second === -1 ? first : second;
  return [path.slice(0, cut), path.slice(cut + 1)];
}

/**
 * Removes every `-ce` then `-ee` so an engine version parses as PEP 440, exactly like Prefect's
 * `format_outlier_version_name`.
 * @example
 * ```ts
 * formatOutlierVersionName("v20.10.0-ce"); // "v20.10.0"
 * ```
 */
export function formatOutlierVersionName(version: string): string {
  return version.replaceAll("-ce", "").replaceAll("-ee", "");
}
