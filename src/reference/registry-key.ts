import { InvalidArgumentError } from "../errors.js";
import { registryOfImage } from "./image-reference.js";
import { isDomainAndPort } from "./reference-grammar.js";

/** Docker Hub's key in `auths`, `credHelpers` and the engine's auth maps. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * The key a registry's credentials are stored and sent under: scheme and path stripped
 * (`https://ghcr.io/v2/` is `ghcr.io`), and each of Docker Hub's names is {@link DOCKER_HUB_KEY}.
 */
export function registryKey(registry: string): string {
  let host = registry.trim().replace(URL_SCHEME, "");
  const slash = host.indexOf("/");
  if (slash !== -1) host = host.slice(0, slash);
  host = host.replace(/^[^@]*@/, "");
  return HUB_ALIASES.has(host.toLowerCase()) ? DOCKER_HUB_KEY : host;
}

/**
 * The registry key of a URL, a bare registry host (Docker Hub's names, `localhost`, a host with a
 * dot or an IPv6 address, each with an optional port) or else an image reference. A bare
 * `name:port` without a dot reads as an image with a tag, as for the CLI.
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
      (hostPart.includes(".") && isDomainAndPort(text))
    ) {
      return registryKey(text);
    }
  }
  return registryKey(registryOfImage(text));
}
