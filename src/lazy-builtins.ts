/**
 * Node's modules that only some operations use, loaded at their first use rather than by
 * `import "prefect-dockerutils"`: each one loaded at import costs every process that imports the
 * package the compiling of its internals and their memory (issue 20's import budget), though most
 * processes never hash, spawn, compress or assert. Node caches a built-in after its first
 * `require`, so each later call is a lookup.
 * @module
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** `node:crypto`: hashes, random IDs. */
export function crypto(): typeof import("node:crypto") {
  return require("node:crypto") as typeof import("node:crypto");
}

/** `node:child_process`: credential helpers, `ssh`, the Python probe. */
export function childProcess(): typeof import("node:child_process") {
  return require("node:child_process") as typeof import("node:child_process");
}

/** `node:https`: TLS engines and registries (its TLS stack costs about 2 MiB at start-up). */
export function https(): typeof import("node:https") {
  return require("node:https") as typeof import("node:https");
}

/** `node:tls`: the raw TLS connection to a `tcp://` engine with TLS. */
export function tls(): typeof import("node:tls") {
  return require("node:tls") as typeof import("node:tls");
}

/** `node:zlib`: gzip-compressed build contexts and layers. */
export function zlib(): typeof import("node:zlib") {
  return require("node:zlib") as typeof import("node:zlib");
}

/** `node:assert`'s `AssertionError`, which the Dockerfile assertions throw. */
export function assertionError(): typeof import("node:assert").AssertionError {
  return (require("node:assert") as typeof import("node:assert")).AssertionError;
}
