import { DEFAULT_DOCKERFILE, MIN_BUILD_MEMORY_BYTES } from "../defaults.js";
import { InvalidArgumentError } from "../errors.js";
import { registryOfImage } from "../reference/image-reference.js";
import {
  booleanOption,
  enumOption,
  integerOption,
  kindOf,
  objectOption,
  optionsObject,
  parseGoBool,
  show,
  stringArrayOption,
  stringOption,
  stringRecordOption,
} from "../validate.js";
import {
  type EngineOperationOptions,
  type NormalizedOperationOptions,
  normalizeOperationOptions,
} from "./operation-options.js";

/** A BuildKit secret: exactly one of `value`, `file` or `env`. */
export interface BuildSecret {
  readonly value?: string | Uint8Array;
  /** A file whose content is the secret, like `docker build --secret id=x,src=FILE`. */
  readonly file?: string;
  /** An environment variable holding the secret, like `docker build --secret id=x,env=VAR`. */
  readonly env?: string;
}

/** Which builder runs a build. */
export type Builder = "classic" | "buildkit";

/** Options of {@link buildImage}. */
export interface BuildImageOptions extends EngineOperationOptions {
  /**
   * The builder: the classic one, or BuildKit spoken through the Engine API with a session this
   * library serves (secrets, SSH forwarding, cache mounts, private base images, incremental context
   * transfer). Options BuildKit cannot honour (`squash`, `memory`, several platforms at once)
   * reject with an {@link InvalidArgumentError}.
   * @default "buildkit" when the environment has `DOCKER_BUILDKIT=1`, else "classic" (Prefect's)
   */
  readonly builder?: Builder;
  /**
   * BuildKit secrets for `RUN --mount=type=secret,id=<id>`, by id. BuildKit only.
   * @default {}
   */
  readonly secrets?: Readonly<Record<string, BuildSecret>>;
  /**
   * SSH agent sockets for `RUN --mount=type=ssh,id=<id>`, by id (`default` for a plain
   * `--mount=type=ssh`): a socket path, or `true` for `SSH_AUTH_SOCK`. BuildKit only.
   * @default {}
   */
  readonly ssh?: Readonly<Record<string, string | true>>;
  /**
   * The Dockerfile, relative to the context (or absolute: it may live outside the context).
   * @default "Dockerfile"
   */
  readonly dockerfile?: string;
  /**
   * The tag to give the image, e.g. `my-image:latest`: an image reference with a lower-case
   * repository and no digest, checked on the client before anything is sent.
   * @default undefined (no tag)
   */
  readonly tag?: string;
  /** Pull the base image even when the engine has it. @default false */
  readonly pull?: boolean;
  /** Target platform, e.g. `linux/amd64`. @default the engine's */
  readonly platform?: string;
  /** `ARG` values. @default {} */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** The stage to build in a multi-stage Dockerfile. @default the last */
  readonly target?: string;
  /** Build without the cache. @default false */
  readonly noCache?: boolean;
  /**
   * Remove intermediate containers after a successful build. docker-py (and so Prefect) defaults
   * to `false` and leaves them behind; this library defaults to the engine's `true`.
   * @default true
   */
  readonly rm?: boolean;
  /**
   * Remove intermediate containers even when the build fails, so a failed build leaves nothing.
   * @default true
   */
  readonly forceRm?: boolean;
  /** Extra `/etc/hosts` entries, e.g. `{ "db": "127.0.0.1" }`. @default {} */
  readonly extraHosts?: Readonly<Record<string, string>>;
  /** Network mode of RUN steps, e.g. `host` or `none`. @default the engine's */
  readonly networkMode?: string;
  /** Images to use as cache sources. @default [] */
  readonly cacheFrom?: readonly string[];
  /** Size of `/dev/shm` in bytes, a whole number (0: the engine's). @default the engine's */
  readonly shmSize?: number;
  /**
   * Memory limit of RUN steps in bytes: 0 (no limit) or a whole number of at least 6 MiB, the
   * engine's minimum.
   * @default none
   */
  readonly memory?: number;
  /** Squash the new layers into one (experimental engines only). @default false */
  readonly squash?: boolean;
  /**
   * Labels to put on the image besides {@link IMAGE_LABELS}, which win on a clash (as Prefect's
   * deployment steps merge them).
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
}

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

/**
 * The one normalising pass of every build entry point, before any I/O; the builders see only its
 * result. `options` may be anything (JavaScript callers are not type-checked).
 *
 * @param name - how the options argument is named in messages.
 * @throws InvalidArgumentError naming the option and the bad value.
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
  const secrets = validateSecrets(given.secrets) ?? {};
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
  const squash = booleanOption("squash", given.squash, false);
  if (builder === "buildkit" && squash) {
    throw new InvalidArgumentError(
      'squash is not supported by BuildKit; use builder: "classic", or a multi-stage Dockerfile that copies into a fresh stage',
    );
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
  if (builder === "buildkit" && memory > 0) {
    throw new InvalidArgumentError(
      `memory (${memory}) is not supported by BuildKit, whose engine side ignores it; leave it out, or use builder: "classic"`,
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
    squash,
    labels: stringRecordOption("labels", given.labels),
  };
}

/** As the docker CLI decides from `DOCKER_BUILDKIT`, read with Go's `strconv.ParseBool`. */
function defaultBuilder(env: NodeJS.ProcessEnv): Builder {
  const value = env.DOCKER_BUILDKIT;
  return value !== undefined && parseGoBool(value) === true ? "buildkit" : "classic";
}

/** Checked here: the engine answers a bad tag with an HTTP 500 that looks transient. */
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

/** The largest secret BuildKit accepts (its `MaxSecretSize`, 500 KiB). */
export const MAX_SECRET_BYTES = 500 * 1024;

const SOURCES = ["value", "file", "env"] as const;

/**
 * Checks the `secrets` option without reading anything. Messages name the ID and the source, never
 * a value.
 * @throws InvalidArgumentError
 */
export function validateSecrets(
  secrets: unknown,
): Readonly<Record<string, BuildSecret>> | undefined {
  if (secrets === undefined) return undefined;
  if (secrets === null || typeof secrets !== "object" || Array.isArray(secrets)) {
    throw new InvalidArgumentError(
      `secrets must be an object of secrets by ID such as { npmrc: { file: "/home/me/.npmrc" } }, got ${kindOf(secrets)}`,
    );
  }
  for (const [id, secret] of Object.entries(secrets)) {
    if (id === "" || /[\0,]/.test(id)) {
      throw new InvalidArgumentError(
        `secrets: ${JSON.stringify(id)} is not a usable secret ID; use the id of RUN --mount=type=secret,id=<id>`,
      );
    }
    const name = `secrets[${JSON.stringify(id)}]`;
    if (secret === null || typeof secret !== "object" || Array.isArray(secret)) {
      throw new InvalidArgumentError(
        `${name} must be an object: { value: "..." }, { file: "<path>" } or { env: "<VARIABLE>" }, got ${kindOf(secret)}; write secrets: { ${JSON.stringify(id)}: { value: "..." } }`,
      );
    }
    const given = SOURCES.filter((source) => (secret as BuildSecret)[source] !== undefined);
    const unknown = Object.keys(secret).filter(
      (key) => !(SOURCES as readonly string[]).includes(key),
    );
    if (unknown.length > 0) {
      throw new InvalidArgumentError(
        `${name} has the unknown field ${JSON.stringify(unknown[0])}; give exactly one of value, file or env`,
      );
    }
    if (given.length !== 1) {
      throw new InvalidArgumentError(
        `${name} must have exactly one of value, file or env, got ${given.length === 0 ? "none" : given.join(" and ")}`,
      );
    }
    const { value, file, env } = secret as BuildSecret;
    if (value !== undefined && typeof value !== "string" && !(value instanceof Uint8Array)) {
      throw new InvalidArgumentError(
        `${name}.value must be a string or a Uint8Array, got ${kindOf(value)}`,
      );
    }
    if (file !== undefined && (typeof file !== "string" || file === "")) {
      throw new InvalidArgumentError(
        `${name}.file must be a non-empty path, got ${typeof file === "string" ? '""' : kindOf(file)}`,
      );
    }
    if (env !== undefined && (typeof env !== "string" || env === "" || env.includes("="))) {
      throw new InvalidArgumentError(
        `${name}.env must be the name of an environment variable, got ${typeof env === "string" && !env.includes("=") ? show(env) : kindOf(env)}`,
      );
    }
    const size = value === undefined ? 0 : Buffer.byteLength(value);
    if (size > MAX_SECRET_BYTES) {
      throw new InvalidArgumentError(
        `${name}.value is ${size} bytes; BuildKit takes secrets of at most ${MAX_SECRET_BYTES} bytes`,
      );
    }
  }
  return secrets as Readonly<Record<string, BuildSecret>>;
}
