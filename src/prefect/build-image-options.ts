/**
 * The one normalising pass over a build's options: every check and every default of
 * {@link buildImage} and `ImageBuilder.build()`, before any I/O.
 * @module
 */
import { validateSecrets } from "../buildkit/build-secrets.js";
import { DEFAULT_DOCKERFILE, MIN_BUILD_MEMORY_BYTES } from "../defaults.js";
import { InvalidArgumentError } from "../errors.js";
import {
  type NormalizedOperationOptions,
  normalizeOperationOptions,
} from "../operation/operation-options.js";
import { registryOfImage } from "../reference/image-reference.js";
import {
  booleanOption,
  enumOption,
  integerOption,
  objectOption,
  optionsObject,
  show,
  stringArrayOption,
  stringOption,
  stringRecordOption,
} from "../validate.js";
import type { Builder, BuildImageOptions, BuildSecret } from "./build-image.js";

/** {@link BuildImageOptions} after {@link normalizeBuildImageOptions}: checked, defaults filled. */
export interface NormalizedBuildImageOptions extends NormalizedOperationOptions {
  readonly builder: Builder;
  readonly secrets: Readonly<Record<string, BuildSecret>>;
  readonly ssh: Readonly<Record<string, string | true>>;
  readonly dockerfile: string;
  readonly tag: string | undefined;
  readonly pull: boolean;
  readonly platform: string | undefined;
  readonly buildArgs: Readonly<Record<string, string>> | undefined;
  readonly target: string | undefined;
  readonly noCache: boolean;
  readonly rm: boolean;
  readonly forceRm: boolean;
  readonly extraHosts: Readonly<Record<string, string>> | undefined;
  readonly networkMode: string | undefined;
  readonly cacheFrom: readonly string[] | undefined;
  readonly shmSize: number | undefined;
  readonly memory: number | undefined;
  readonly squash: boolean;
  readonly labels: Readonly<Record<string, string>> | undefined;
}

const BUILDERS = ["classic", "buildkit"] as const;
// The docker CLI reads DOCKER_BUILDKIT with Go's strconv.ParseBool.
const TRUE_WORDS = new Set(["1", "t", "T", "true", "TRUE", "True"]);

/**
 * Checks a build's options and fills in their defaults, in one pass before any I/O: numbers must
 * be finite whole numbers in range, enums known, types right. Every failure is an
 * {@link InvalidArgumentError} naming the option and the bad value.
 *
 * @param options - what the caller passed (anything: JavaScript callers are not type-checked).
 * @param name - how the options argument is named in messages.
 */
export function normalizeBuildImageOptions(
  options: unknown,
  name = "options",
): NormalizedBuildImageOptions {
  const given = optionsObject<BuildImageOptions>(name, options as BuildImageOptions | undefined);
  const common = normalizeOperationOptions(given);
  const builder = enumOption(
    "builder",
    given.builder,
    BUILDERS,
    defaultBuilder(common.env ?? process.env),
  );
  const secrets = secretsOption(given.secrets);
  const ssh = sshOption(given.ssh);
  if (builder === "classic") {
    for (const [option, value] of [
      ["secrets", secrets],
      ["ssh", ssh],
    ] as const) {
      const ids = Object.keys(value);
      if (ids.length > 0) {
        throw new InvalidArgumentError(
          `${option} (${ids.map((id) => JSON.stringify(id)).join(", ")}) needs builder: "buildkit"; the classic builder cannot mount them`,
        );
      }
    }
  }
  const memory = integerOption("memory", given.memory, 0, {
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
  });
  if (memory > 0 && memory < MIN_BUILD_MEMORY_BYTES) {
    throw new InvalidArgumentError(
      `memory must be 0 (no limit) or at least ${MIN_BUILD_MEMORY_BYTES} bytes (6 MiB, the engine's minimum), got ${memory}`,
    );
  }
  return {
    ...common,
    builder,
    secrets,
    ssh,
    dockerfile: stringOption("dockerfile", given.dockerfile) ?? DEFAULT_DOCKERFILE,
    tag: tagOption(given.tag),
    pull: booleanOption("pull", given.pull, false),
    platform: platformOption(given.platform),
    buildArgs: stringRecordOption("buildArgs", given.buildArgs),
    target: stringOption("target", given.target),
    noCache: booleanOption("noCache", given.noCache, false),
    rm: booleanOption("rm", given.rm, true),
    forceRm: booleanOption("forceRm", given.forceRm, true),
    extraHosts: extraHostsOption(given.extraHosts),
    networkMode: stringOption("networkMode", given.networkMode),
    cacheFrom: stringArrayOption("cacheFrom", given.cacheFrom),
    shmSize:
      given.shmSize === undefined
        ? undefined
        : integerOption("shmSize", given.shmSize, 0, { min: 0, max: Number.MAX_SAFE_INTEGER }),
    memory: given.memory === undefined ? undefined : memory,
    squash: booleanOption("squash", given.squash, false),
    labels: stringRecordOption("labels", given.labels),
  };
}

/** `buildkit` when `DOCKER_BUILDKIT` says so, as the docker CLI decides; else `classic`. */
function defaultBuilder(env: NodeJS.ProcessEnv): Builder {
  const value = env.DOCKER_BUILDKIT;
  return value !== undefined && TRUE_WORDS.has(value) ? "buildkit" : "classic";
}

/**
 * The tag, checked on the client with the reference grammar `pushImage` uses: the engine answers
 * a bad one with an HTTP 500 (`invalid reference format`) that looks transient.
 */
function tagOption(value: unknown): string | undefined {
  const tag = stringOption("tag", value);
  if (tag === undefined) return undefined;
  if (tag.includes("@")) {
    throw new InvalidArgumentError(
      `tag must be a name with an optional tag such as "my-app:latest", not a digest reference, got ${show(tag)}`,
    );
  }
  try {
    registryOfImage(tag);
  } catch (cause) {
    throw new InvalidArgumentError(
      `tag must be an image reference such as "my-app:latest" or "registry.example.com/team/app:1" (lower-case repository; tag of letters, digits, "_", "." and "-"), got ${show(tag)}`,
      { cause },
    );
  }
  return tag;
}

/**
 * One platform: an image in the engine's store has one. Several (`linux/amd64,linux/arm64`) go to
 * a registry as an image index, which `buildMultiPlatformImage` builds and pushes.
 */
function platformOption(value: unknown): string | undefined {
  const platform = stringOption("platform", value);
  if (platform?.includes(",")) {
    throw new InvalidArgumentError(
      `platform ${show(platform)} names several platforms, but an image in the engine's image store has one platform: build and push them as one multi-platform image with buildMultiPlatformImage(context, "registry/name:tag", { platforms: [...] }), or build each platform separately`,
    );
  }
  return platform;
}

function extraHostsOption(value: unknown): Readonly<Record<string, string>> | undefined {
  const hosts = stringRecordOption("extraHosts", value);
  for (const [host, address] of Object.entries(hosts ?? {})) {
    // The engine receives them joined as "host:ip,host:ip".
    if (host === "" || /[\s,:]/.test(host) || address === "" || /[\s,]/.test(address)) {
      throw new InvalidArgumentError(
        `extraHosts entries must map a host name to an address, such as { db: "127.0.0.1" }, got ${show(host)}: ${show(address)}`,
      );
    }
  }
  return hosts;
}

function secretsOption(value: unknown): Readonly<Record<string, BuildSecret>> {
  // One check for both builders, the one BuildKit runs: it names IDs and shapes, never values.
  return (validateSecrets(value) ?? {}) as Readonly<Record<string, BuildSecret>>;
}

function sshOption(value: unknown): Readonly<Record<string, string | true>> {
  const ssh = objectOption<Record<string, unknown>>(
    "ssh",
    value,
    'an object of agent sockets by id such as { default: true } or { github: "/run/agent.sock" }',
  );
  for (const [id, socket] of Object.entries(ssh ?? {})) {
    if (id === "") throw new InvalidArgumentError("ssh ids must not be empty");
    if (socket !== true && (typeof socket !== "string" || socket === "")) {
      throw new InvalidArgumentError(
        `ssh[${JSON.stringify(id)}] must be a socket path or true (for SSH_AUTH_SOCK), got ${show(socket)}`,
      );
    }
  }
  return (ssh ?? {}) as Readonly<Record<string, string | true>>;
}
