import { InvalidArgumentError } from "../errors.js";
import { isRegistryComponent } from "../reference/image-reference.js";
import { isDomainAndPort } from "../reference/reference-grammar.js";

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Python's `urlsplit(url).netloc`: case and user info kept, `""` without `//`. */
function urlNetloc(url: string): string {
  let rest = url;
  const scheme = SCHEME.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  if (!rest.startsWith("//")) return "";
  rest = rest.slice(2);
  const end = rest.search(/[/?#]/);
  return end === -1 ? rest : rest.slice(0, end);
}

/** A registry URL, read as Prefect reads it and checked. */
export interface RegistryUrl {
  /** The host (and port) the image is pushed to: Python's `urlsplit(url).netloc`. */
  readonly host: string;
  /** The scheme, lower-case, e.g. `http`. */
  readonly scheme: string;
}

/**
 * `url` with everything before the last `@` but the scheme replaced by `***`: a password may hold
 * `/`, `?` or `#`, and showing too little beats showing a password.
 */
function redactUrl(url: string): string {
  const at = url.lastIndexOf("@");
  if (at === -1) return url;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url.slice(0, at))?.[0] ?? "";
  return `${scheme}***${url.slice(at)}`;
}

/** How a caller's URL is shown: redacted, JSON-quoted, at most 200 characters. */
function shownUrl(url: string): string {
  const redacted = redactUrl(url);
  return JSON.stringify(redacted.length > 200 ? `${redacted.slice(0, 200)}...` : redacted);
}

/**
 * The registry Prefect pushes to for `registryUrl` (`urlsplit(registry_url).netloc`), checked.
 * @throws InvalidArgumentError for a URL without `//` (Python would push to `/name`), with user
 *   info (never shown), a scheme but `http`/`https`, or a host the engine reads as a Hub account.
 */
export function parseRegistryUrl(registryUrl: string): RegistryUrl {
  if (typeof registryUrl !== "string" || registryUrl.trim() === "") {
    throw new InvalidArgumentError(
      `registryUrl must be a URL such as "http://localhost:5000" or "https://registry.example.com", got ${typeof registryUrl === "string" ? JSON.stringify(registryUrl) : typeof registryUrl}`,
    );
  }
  const shown = shownUrl(registryUrl);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects.
  if (/[\u0000-\u0020\u007f]/.test(registryUrl) || registryUrl.length > 2048) {
    throw new InvalidArgumentError(
      `registryUrl ${shown} holds spaces or control characters, or is too long; pass a URL such as "http://localhost:5000"`,
    );
  }
  // Before anything reads a host out of it: with a password holding "/" (or no scheme), the
  // host read would be part of the password. No registry URL has any other use for "@".
  if (registryUrl.includes("@")) {
    const host = registryUrl.slice(registryUrl.lastIndexOf("@") + 1).split(/[/?#]/)[0] ?? "";
    const scheme = /^(https?):\/\//i.exec(registryUrl)?.[1]?.toLowerCase() ?? "http";
    throw new InvalidArgumentError(
      `registryUrl ${shown} holds a user name or password, which would become part of the image reference; write ${JSON.stringify(`${scheme}://${host}`)} and pass the login as options.auth ({ username, password }) or with \`docker login\``,
    );
  }
  const netloc = urlNetloc(registryUrl);
  if (!netloc) {
    const looksLikeHost = /^[A-Za-z0-9.[\]:-]+(\/.*)?$/.test(registryUrl);
    throw new InvalidArgumentError(
      `registryUrl ${shown} has no scheme, so it names no host (Prefect reads it with Python's urlsplit, which needs "scheme://"); ${looksLikeHost ? `write ${JSON.stringify(`http://${redactUrl(registryUrl)}`)} (or https://)` : 'pass a URL such as "http://localhost:5000" or "https://registry.example.com"'}`,
    );
  }
  const scheme = (SCHEME.exec(registryUrl)?.[0] ?? "").slice(0, -1).toLowerCase();
  if (scheme !== "http" && scheme !== "https") {
    throw new InvalidArgumentError(
      `registryUrl ${shown} has the scheme ${JSON.stringify(scheme)}; use http:// or https://`,
    );
  }
  if (!isDomainAndPort(netloc)) {
    throw new InvalidArgumentError(
      `registryUrl ${shown} has the host ${JSON.stringify(netloc)}, which is not a registry host; use a host name or IP address with an optional port, such as "http://localhost:5000"`,
    );
  }
  if (!isRegistryComponent(netloc)) {
    throw new InvalidArgumentError(
      `registryUrl ${shown} has the host ${JSON.stringify(netloc)}, which the engine would read as a Docker Hub account ("${netloc}/app" means docker.io/${netloc}/app); add its port (e.g. "${scheme}://${netloc}:5000") or its domain`,
    );
  }
  return { host: netloc, scheme };
}
