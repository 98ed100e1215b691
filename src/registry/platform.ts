/**
 * Target platforms (`linux/amd64`, `linux/arm/v7`), parsed and normalised as containerd's
 * `platforms.Normalize` does, so that `linux/aarch64` and `linux/arm64/v8` name the same image.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";
import { show } from "../validate.js";

/** A platform as an image index entry carries it. */
export interface Platform {
  /** E.g. `linux`. */
  readonly os: string;
  /** E.g. `amd64`, `arm64`, `arm`. */
  readonly architecture: string;
  /** E.g. `v7` for `arm`; `undefined` when the architecture has none. */
  readonly variant: string | undefined;
}

/** Most platforms one build takes: buildx's own lists are about a dozen long. */
export const MAX_PLATFORMS = 16;

const PART = /^[a-z0-9][a-z0-9._-]{0,31}$/;

const ARCH_ALIASES: Readonly<Record<string, { architecture: string; variant?: string }>> = {
  i386: { architecture: "386" },
  x86_64: { architecture: "amd64" },
  "x86-64": { architecture: "amd64" },
  aarch64: { architecture: "arm64" },
  armhf: { architecture: "arm", variant: "v7" },
  armel: { architecture: "arm", variant: "v6" },
};

/**
 * Parses `os/architecture[/variant]`, lower-cased and normalised like containerd: `x86_64` is
 * `amd64`, `aarch64` and `arm64/v8` are `arm64`, `armhf` is `arm/v7`, a bare `arm` is `arm/v7`.
 *
 * @param option - the option's name for messages, e.g. `platforms[1]`.
 * @throws InvalidArgumentError naming the value and the form to use.
 */
export function parsePlatform(value: unknown, option = "platform"): Platform {
  const hint =
    'use os/architecture[/variant], such as "linux/amd64", "linux/arm64" or "linux/arm/v7"';
  if (typeof value !== "string" || value.trim() === "") {
    throw new InvalidArgumentError(
      `${option} must be a platform string (${hint}), got ${show(value)}`,
    );
  }
  const parts = value.trim().toLowerCase().split("/");
  if (parts.length < 2 || parts.length > 3 || !parts.every((part) => PART.test(part))) {
    throw new InvalidArgumentError(`${option} ${show(value)} is not a platform; ${hint}`);
  }
  const [os, arch, givenVariant] = parts as [string, string, string | undefined];
  const alias = ARCH_ALIASES[arch];
  const architecture = alias?.architecture ?? arch;
  let variant = givenVariant ?? alias?.variant;
  if (architecture === "arm64" && (variant === "v8" || variant === "8")) variant = undefined;
  if (architecture === "arm") {
    if (variant === undefined) variant = "v7";
    else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
  }
  if (architecture === "amd64" && variant === "v1") variant = undefined;
  return { os: os === "macos" ? "darwin" : os, architecture, variant };
}

/** `os/architecture[/variant]`, the form `--platform` takes. */
export function formatPlatform(platform: Platform): string {
  const { os, architecture, variant } = platform;
  return variant === undefined ? `${os}/${architecture}` : `${os}/${architecture}/${variant}`;
}

/**
 * A list of platforms: an array of platform strings, or one string with the platforms separated
 * by commas (as `--platform` and buildx take them). Each is normalised ({@link parsePlatform}).
 *
 * @throws InvalidArgumentError for an empty list, more than {@link MAX_PLATFORMS}, a bad
 *   platform, or the same platform twice (after normalising: `linux/arm64` and `linux/aarch64`).
 */
export function parsePlatformList(value: unknown, option = "platforms"): Platform[] {
  const items =
    typeof value === "string" ? value.split(",") : Array.isArray(value) ? [...value] : undefined;
  if (items === undefined || items.length === 0) {
    throw new InvalidArgumentError(
      `${option} must be a list of platforms such as ["linux/amd64", "linux/arm64"], got ${show(value)}`,
    );
  }
  if (items.length > MAX_PLATFORMS) {
    throw new InvalidArgumentError(
      `${option} names ${items.length} platforms; at most ${MAX_PLATFORMS} are built at once`,
    );
  }
  const seen = new Map<string, string>();
  return items.map((item, index) => {
    const platform = parsePlatform(item, `${option}[${index}]`);
    const key = formatPlatform(platform);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(
        `${option} names ${key} twice (${show(earlier)} and ${show(item)}); list each platform once`,
      );
    }
    seen.set(key, String(item));
    return platform;
  });
}
