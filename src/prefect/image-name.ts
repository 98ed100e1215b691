/**
 * Image-name helpers ported from `prefect.utilities.dockerutils`: `parse_image_tag`,
 * `split_repository_path` and `format_outlier_version_name`, with Python's `str.split`
 * semantics kept exactly.
 * @module
 */

import { InvalidArgumentError } from "../errors.js";

const VALID_IMAGE_NAME =
  'a valid image name is [REGISTRY[:PORT]/]REPOSITORY[:TAG] or [REGISTRY[:PORT]/]REPOSITORY@DIGEST, e.g. "prefecthq/prefect:3-latest" or "localhost:5000/team/app@sha256:abc123"';

/**
 * Python's `part.split(separator)` unpacked into two names: where Python raises
 * `ValueError: too many values to unpack (expected 2)` this throws, naming the whole image name.
 */
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
 * Splits a Docker image reference into the image name and its tag or digest, exactly like Prefect's
 * `parse_image_tag`.
 *
 * Only the part after the first `/` is searched, so a registry port (`host:5000/app`) is never
 * taken for a tag. A digest (`@sha256:...`) wins over a tag; when both are present the tag stays
 * in the name (`app:1@sha256:abc` gives `["app:1", "sha256:abc"]`), as in Python. An empty tag
 * (`app:`) is returned as `""`.
 *
 * @param name - an image reference such as `prefecthq/prefect:2.1.1`.
 * @returns `[imageName, tagOrDigest]`, the second `null` when there is neither.
 * @throws InvalidArgumentError where Python raises `ValueError`: when the searched part has more
 *   than one `@`, or no `@` and more than one `:` (e.g. `"a:b:c"`).
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
  // Python: index_name = parts[0]; image_path = "/".join(parts[1:]), i.e. everything after it.
  const indexName = name.slice(0, slash);
  const imagePath = name.slice(slash + 1);
  let path = imagePath;
  let tag: string | null = null;
  if (imagePath.includes("@")) [path, tag] = splitInTwo(name, imagePath, "@");
  else if (imagePath.includes(":")) [path, tag] = splitInTwo(name, imagePath, ":");
  return [`${indexName}/${path}`, tag];
}

/**
 * Python's `text.split(separator, maxsplit)`: at most `maxsplit` splits, the rest of the text kept
 * whole in the last part. JavaScript's `split(separator, limit)` drops the rest instead.
 */
function pySplit(text: string, separator: string, maxsplit: number): string[] {
  const parts: string[] = [];
  let rest = text;
  while (parts.length < maxsplit) {
    const index = rest.indexOf(separator);
    if (index === -1) break;
    parts.push(rest.slice(0, index));
    rest = rest.slice(index + separator.length);
  }
  parts.push(rest);
  return parts;
}

/**
 * Splits a Docker repository path into namespace and repository, exactly like Prefect's
 * `split_repository_path` (`repository_path.split("/", 2)`).
 *
 * With two or more slashes the namespace is the first two parts and the repository everything
 * after the second slash, further slashes included (`a/b/c/d` gives `["a/b", "c/d"]`). With one
 * slash the namespace is the first part. Without a slash there is no namespace. A tag stays on the
 * repository.
 *
 * @param path - a repository path such as `hostname.io:5050/dir/subdir:latest`.
 * @returns `[namespace, repository]`, the namespace `null` when the path has no `/`.
 * @example
 * ```ts
 * splitRepositoryPath("prefecthq/prefect:2.1.1");     // ["prefecthq", "prefect:2.1.1"]
 * splitRepositoryPath("hostname.io:5050/dir/subdir"); // ["hostname.io:5050/dir", "subdir"]
 * splitRepositoryPath("simpleimage");                 // [null, "simpleimage"]
 * ```
 */
export function splitRepositoryPath(path: string): [string | null, string] {
  const parts = pySplit(path, "/", 2);
  const last = parts[parts.length - 1] ?? "";
  // Python tests `"." in parts[0] or ":" in parts[0]` for two parts, but both of its branches
  // build the same pair, so only the number of parts matters.
  if (parts.length === 1) return [null, last];
  return [parts.slice(0, -1).join("/"), last];
}

/**
 * Removes Docker's `-ce` / `-ee` edition suffixes so the engine version parses as a PEP 440
 * version, exactly like Prefect's `format_outlier_version_name`
 * (`version.replace("-ce", "").replace("-ee", "")`: every occurrence, `-ce` first).
 *
 * @param version - the engine version, e.g. `20.10.0-ce`.
 * @returns the version without edition suffixes.
 * @example
 * ```ts
 * formatOutlierVersionName("v20.10.0-ce"); // "v20.10.0"
 * ```
 */
export function formatOutlierVersionName(version: string): string {
  return version.replaceAll("-ce", "").replaceAll("-ee", "");
}
