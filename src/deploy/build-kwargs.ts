/**
 * A build step's keyword arguments, by docker-py's `APIClient.build()` or python-on-whales'
 * `buildx.build()` names, mapped onto {@link BuildImageOptions}; none is silently dropped.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";
import type { Builder, BuildImageOptions, BuildSecret } from "../operation/build-image-options.js";
import {
  booleanOption,
  integerOption,
  kindOf,
  redactSecretEntry,
  show,
  stringOption,
  stringRecordOption,
} from "../validate.js";

/** What {@link mapBuildKwargs} makes of the keyword arguments. */
export interface MappedBuildKwargs {
  /** `path`. */
  readonly context: string | undefined;
  readonly options: BuildImageOptions;
  /** Prefect's default `true` filled in. */
  readonly pull: boolean;
  /** BuildKit's `push`: push every tag once built. */
  readonly push: boolean;
  /** docker-py's `quiet`: no build output. */
  readonly quiet: boolean;
  /** buildx's `platforms` (or `platform` list) when it names several, to push as one image. */
  readonly platforms: readonly string[] | undefined;
}

type Mapper = (value: unknown, key: string, into: Record<string, unknown>) => void;

const to =
  (option: string, read: (key: string, value: unknown) => unknown): Mapper =>
  (value, key, into) => {
    into[option] = read(key, value);
  };

const bool = (key: string, value: unknown) => booleanOption(key, value, false);
const text = (key: string, value: unknown) => stringOption(key, value);
const record = (key: string, value: unknown) => stringRecordOption(key, value);

function stringList(key: string, value: unknown): string[] {
  const items = typeof value === "string" ? [value] : value;
  if (!Array.isArray(items) || items.some((item) => typeof item !== "string" || item === "")) {
    // The kind only: this is also the list of secrets.
    throw new InvalidArgumentError(
      `${key} must be a string or a list of non-empty strings, got ${kindOf(value)}`,
    );
  }
  return items as string[];
}

/** docker-py's `extra_hosts`: a mapping, or a list of `host:ip`. */
function extraHosts(key: string, value: unknown): Record<string, string> {
  if (!Array.isArray(value)) return { ...record(key, value) };
  const hosts: Record<string, string> = {};
  for (const entry of stringList(key, value)) {
    const colon = entry.indexOf(":");
    if (colon <= 0 || colon === entry.length - 1) {
      throw new InvalidArgumentError(`${key} entries must be "host:ip", got ${show(entry)}`);
    }
    hosts[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return hosts;
}

/** buildx's `--cache-from`: an image reference or `type=registry,ref=<reference>`. */
function cacheFrom(key: string, value: unknown): string[] {
  return stringList(key, value).map((entry) => {
    if (!entry.includes("=")) return entry;
    const fields = csvFields(key, entry, show(entry));
    const type = fields.get("type") ?? "registry";
    const ref = fields.get("ref");
    if (type !== "registry" || ref === undefined || fields.size > (fields.has("type") ? 2 : 1)) {
      throw new InvalidArgumentError(
        `${key} entry ${show(entry)} is not supported: the Engine API imports cache from images only; use an image reference or "type=registry,ref=<image>"`,
      );
    }
    return ref;
  });
}

/** `a=b,c=d` as buildx parses `--secret` and `--cache-from`; `shown` is the entry in messages. */
function csvFields(key: string, entry: string, shown: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of entry.split(",")) {
    const equals = part.indexOf("=");
    if (equals <= 0) {
      throw new InvalidArgumentError(`${key} entry ${shown} must be key=value pairs`);
    }
    fields.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1));
  }
  return fields;
}

/** buildx's `--secret id=ID,src=PATH` / `id=ID,env=VAR` (`type=file|env` optional). */
function secrets(key: string, value: unknown): Record<string, BuildSecret> {
  const result: Record<string, BuildSecret> = {};
  for (const entry of stringList(key, value)) {
    const shown = JSON.stringify(redactSecretEntry(entry));
    const fields = csvFields(key, entry, shown);
    const id = fields.get("id");
    const file = fields.get("src") ?? fields.get("source");
    const env = fields.get("env");
    const type = fields.get("type");
    const known = new Set(["id", "src", "source", "env", "type"]);
    const unknown = [...fields.keys()].find((field) => !known.has(field));
    if (!id || unknown !== undefined || (file === undefined) === (env === undefined)) {
      throw new InvalidArgumentError(
        `${key} entry ${shown} must be "id=<id>,src=<file>" or "id=<id>,env=<variable>"`,
      );
    }
    if (type !== undefined && type !== (file === undefined ? "env" : "file")) {
      throw new InvalidArgumentError(
        `${key} entry ${shown} has type=${JSON.stringify(type)}, which does not match its ${file === undefined ? "env" : "src"}`,
      );
    }
    result[id] = file === undefined ? { env: env as string } : { file };
  }
  return result;
}

/** buildx's `--ssh default` / `--ssh id=/path/to/agent.sock`. */
function ssh(key: string, value: unknown): Record<string, string | true> {
  const result: Record<string, string | true> = {};
  for (const entry of stringList(key, value)) {
    const equals = entry.indexOf("=");
    const id = equals === -1 ? entry : entry.slice(0, equals);
    const socket = equals === -1 ? undefined : entry.slice(equals + 1);
    if (!id || socket === "" || socket?.includes(",")) {
      throw new InvalidArgumentError(
        `${key} entry ${show(entry)} must be "<id>" (the SSH_AUTH_SOCK agent) or "<id>=<agent socket>"`,
      );
    }
    result[id] = socket ?? true;
  }
  return result;
}

/** docker-py's `container_limits`: only `memory` has a counterpart. */
const containerLimits: Mapper = (value, key, into) => {
  const limits = value as Record<string, unknown> | null;
  if (limits === null || typeof limits !== "object" || Array.isArray(limits)) {
    throw new InvalidArgumentError(`${key} must be a mapping such as { memory: 1073741824 }`);
  }
  for (const [limit, amount] of Object.entries(limits)) {
    if (limit !== "memory") {
      throw new InvalidArgumentError(
        `${key}.${limit} is not supported: only container_limits.memory has a counterpart here (the build option memory)`,
      );
    }
    into.memory = integerOption(`${key}.memory`, amount, 0, {
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
    });
  }
};

/** docker-py's `timeout`, in seconds, is how long a read may wait: the inactivity timeout. */
const timeout: Mapper = (value, key, into) => {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(
      `${key} must be a number of seconds above 0, got ${show(value)}`,
    );
  }
  into.inactivityTimeoutMs = Math.min(Math.ceil(value * 1000), 2_147_483_647);
};

/** Keys known but refused. */
const REFUSED = new Set<Mapper>();

function unsupported(key: string, why: string): never {
  throw new InvalidArgumentError(`The build option ${key} is not supported: ${why}`);
}

function refuse(why: string): Mapper {
  const mapper: Mapper = (_value, key) => unsupported(key, why);
  REFUSED.add(mapper);
  return mapper;
}

const handled: Mapper = () => {};

const COMMON: Readonly<Record<string, Mapper>> = {
  path: handled,
  pull: handled,
  labels: to("labels", record),
  target: to("target", text),
  platform: to("platform", text),
};

/** docker-py's `APIClient.build()` keyword arguments. */
const DOCKER_PY: Readonly<Record<string, Mapper>> = {
  ...COMMON,
  quiet: handled,
  nocache: to("noCache", bool),
  rm: to("rm", bool),
  forcerm: to("forceRm", bool),
  timeout,
  buildargs: to("buildArgs", record),
  shmsize: to("shmSize", (key, value) =>
    integerOption(key, value, 0, { min: 1, max: Number.MAX_SAFE_INTEGER }),
  ),
  cache_from: to("cacheFrom", stringList),
  network_mode: to("networkMode", text),
  squash: to("squash", bool),
  extra_hosts: to("extraHosts", extraHosts),
  container_limits: containerLimits,
  // How docker-py hands events back (Prefect always sets it); it changes nothing in the build.
  decode: (value, key) => {
    booleanOption(key, value, false);
  },
  use_config_proxy: (value, key) => {
    if (booleanOption(key, value, false)) {
      unsupported(
        `${key}: true`,
        "proxy settings of the Docker configuration are not turned into build args here; pass HTTP_PROXY and friends in buildargs",
      );
    }
  },
  fileobj: refuse("the build context is the folder in path"),
  custom_context: refuse("the build context is the folder in path"),
  encoding: refuse("the build context is the folder in path"),
  gzip: refuse("the context is sent uncompressed, as the docker CLI sends it"),
  isolation: refuse("it applies to Windows engines only"),
};

/** python-on-whales' `buildx.build()` keyword arguments. */
const BUILDX: Readonly<Record<string, Mapper>> = {
  ...COMMON,
  push: handled,
  platforms: handled,
  // A string or a list, several platforms included: read by platformList.
  platform: handled,
  build_args: to("buildArgs", record),
  cache: (value, key, into) => {
    into.noCache = !booleanOption(key, value, true);
  },
  cache_from: to("cacheFrom", cacheFrom),
  network: to("networkMode", text),
  add_hosts: to("extraHosts", record),
  secrets: to("secrets", secrets),
  ssh: to("ssh", ssh),
  load: (value, key) => {
    if (!booleanOption(key, value, true)) {
      unsupported(
        `${key}: false`,
        "a BuildKit build through the Engine API always lands in the engine's images",
      );
    }
  },
  cache_to: refuse("the Engine API exports no build cache"),
  output: refuse("the image always lands in the engine's images"),
  file: refuse("name the Dockerfile with the step's dockerfile input"),
  tags: refuse("name the tags with the step's tag and additional_tags inputs"),
  builder: refuse("builds run on the engine's own BuildKit"),
};

/** The other backend's name for a key, to say what was probably meant. */
const OTHER_NAME: Readonly<Record<string, string>> = {
  buildargs: "build_args",
  build_args: "buildargs",
  nocache: "cache",
  cache: "nocache",
  network_mode: "network",
  network: "network_mode",
  extra_hosts: "add_hosts",
  add_hosts: "extra_hosts",
};

/**
 * Maps a build step's extra keyword arguments onto `buildImage` options for `builder`.
 *
 * @throws InvalidArgumentError naming the first key that is unknown, refused or of the wrong kind.
 */
export function mapBuildKwargs(
  kwargs: Readonly<Record<string, unknown>>,
  builder: Builder,
): MappedBuildKwargs {
  const table = builder === "buildkit" ? BUILDX : DOCKER_PY;
  const backend = builder === "buildkit" ? "buildx" : "docker-py";
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(kwargs)) {
    if (value === undefined) continue;
    const mapper = Object.hasOwn(table, key) ? table[key] : undefined;
    if (!mapper) {
      const other = OTHER_NAME[key];
      const hint =
        other !== undefined && Object.hasOwn(table, other)
          ? ` (with build_backend '${backend}' it is called ${other})`
          : "";
      throw new InvalidArgumentError(
        `Unknown build option ${JSON.stringify(key)} for build_backend '${backend}'${hint}; the supported ones are ${Object.keys(
          table,
        )
          .filter((name) => !REFUSED.has(table[name] as Mapper))
          .sort()
          .join(", ")}`,
      );
    }
    mapper(value, key, options);
  }
  const context = stringOption("path", kwargs.path);
  const pull = booleanOption("pull", kwargs.pull, true);
  const push = builder === "buildkit" && booleanOption("push", kwargs.push, false);
  const quiet = builder === "classic" && booleanOption("quiet", kwargs.quiet, false);
  const platforms = builder === "buildkit" ? platformList(kwargs) : undefined;
  if (platforms !== undefined && platforms.length > 1 && !push) {
    throw new InvalidArgumentError(
      "Multi-platform builds require push=True because buildx cannot load multi-platform results into the local Docker daemon. Either set push=True or build for a single platform.",
    );
  }
  if (builder === "buildkit") {
    if (platforms?.length === 1) options.platform = platforms[0];
    else delete options.platform;
  }
  return {
    context,
    options: options as BuildImageOptions,
    pull,
    push,
    quiet,
    platforms: platforms !== undefined && platforms.length > 1 ? platforms : undefined,
  };
}

/** buildx's `platforms`, else `platform`, each item split at commas as buildx does. */
function platformList(kwargs: Readonly<Record<string, unknown>>): string[] | undefined {
  const split = (items: readonly string[]) =>
    items.flatMap((item) => item.split(",").map((part) => part.trim())).filter(Boolean);
  if (kwargs.platforms !== undefined) {
    const platforms = split(stringList("platforms", kwargs.platforms));
    if (platforms.length > 0) return platforms;
  }
  if (kwargs.platform === undefined) return undefined;
  return split(
    typeof kwargs.platform === "string"
      ? [stringOption("platform", kwargs.platform) as string]
      : stringList("platform", kwargs.platform),
  );
}
