/**
 * Which registry a string names, and the key its credentials are stored and sent under, as the
 * docker CLI computes them.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";
import { isRegistryHost, registryOfImage } from "./image-reference.js";

/** Docker Hub's key in `auths`, `credHelpers` and the engine's auth maps. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * The key under which a registry's credentials are stored and sent, as the docker CLI computes
 * it: the scheme and any path are stripped (`https://ghcr.io/v2/` becomes `ghcr.io`), and Docker
 * Hub under any of its names (`docker.io`, `index.docker.io`, `registry-1.docker.io`, with or
 * without scheme and path) becomes `https://index.docker.io/v1/`.
 */
export function registryKey(registry: string): string {
  let host = registry.trim().replace(URL_SCHEME, "");
  const slash = host.indexOf("/");
  if (slash !== -1) host = host.slice(0, slash);
  host = host.replace(/^[^@]*@/, "");
  return HUB_ALIASES.has(host.toLowerCase()) ? DOCKER_HUB_KEY : host;
}

/**
 * The registry key of what a string names: a URL (`https://host:5000/...`), a bare registry host
 * (Docker Hub's names, `localhost[:port]`, a host with a dot or an IPv6 address, each with an
 * optional port), or else an image reference, whose registry {@link registryOfImage} decides. A
 * bare `name:port` without a dot reads as an image with a tag, as it does for the CLI: write a
 * URL for such hosts.
 *
 * @throws InvalidArgumentError for a URL without a host or an invalid image reference.
 */
export function registryKeyOf(imageOrRegistry: string): string {
  if (typeof imageOrRegistry !== "string") return registryOfImage(imageOrRegistry);
  const text = imageOrRegistry.trim();
  if (URL_SCHEME.test(text)) {
    const key = registryKey(text);
    if (!key) {
      // A URL may carry user:password before the host; never echo that part.
      const shown = text.replace(/\/\/[^/]*@/, "//...@");
      throw new InvalidArgumentError(`The registry URL ${JSON.stringify(shown)} has no host`);
    }
    return key;
  }
  if (!text.includes("/")) {
    const hostPart = text.replace(/:[0-9]+$/, "");
    if (
      HUB_ALIASES.has(text.toLowerCase()) ||
      hostPart === "localhost" ||
      /^\[[a-fA-F0-9:]+\]$/.test(hostPart) ||
      (hostPart.includes(".") && isRegistryHost(text))
    ) {
      return registryKey(text);
    }
  }
  return registryKey(registryOfImage(text));
}
