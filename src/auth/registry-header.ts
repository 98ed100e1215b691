/**
 * The encoding of the engine's `X-Registry-Auth` and `X-Registry-Config` headers.
 * @module
 */

/**
 * URL-safe base64 of `value`'s JSON, with `=` padding: the engine decodes these headers with Go's
 * `base64.URLEncoding`, and silently ignores a header it cannot decode (standard base64 with `+`
 * or `/`, or a missing pad), which then looks like a missing login.
 */
export function encodeRegistryHeader(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8")
    .toString("base64")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
}
