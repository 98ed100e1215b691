/**
 * Reading registry URLs the way Prefect's Python code does.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * The network location of a URL exactly as Python's `urllib.parse.urlsplit(url).netloc` gives it
 * (case kept, user info kept, empty when the URL has no `//`).
 */
export function urlNetloc(url: string): string {
  let rest = url;
  const scheme = SCHEME.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  if (!rest.startsWith("//")) return "";
  rest = rest.slice(2);
  const end = rest.search(/[/?#]/);
  return end === -1 ? rest : rest.slice(0, end);
}

/**
 * The registry host Prefect pushes to for `registryUrl` (`urlsplit(registry_url).netloc`).
 * Python would build a repository like `/name` from a URL without `//`; this throws instead.
 */
export function registryHost(registryUrl: string): string {
  const host = typeof registryUrl === "string" ? urlNetloc(registryUrl) : "";
  if (!host) {
    throw new InvalidArgumentError(
      `registryUrl ${JSON.stringify(registryUrl)} has no host; pass a URL such as "http://localhost:5000" or "https://registry.example.com"`,
    );
  }
  return host;
}

/**
 * The current UTC time in Python's `datetime.isoformat()` form, e.g.
 * `2026-11-27T03:52:22.123456+00:00` (microseconds left out when they are zero, as Python does).
 */
export function pythonUtcIsoformat(epochMicroseconds: bigint): string {
  const millis = Number(epochMicroseconds / 1000n);
  const micros = Number(epochMicroseconds % 1_000_000n);
  const base = new Date(millis).toISOString().slice(0, 19);
  return `${base}${micros === 0 ? "" : `.${String(micros).padStart(6, "0")}`}+00:00`;
}

/** Microseconds since the epoch, with the sub-millisecond part from the monotonic clock. */
export function nowMicroseconds(): bigint {
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
}
