/**
 * `build`'s structured flags, parsed as `docker build` reads them.
 * @module
 */
import path from "node:path";
import { type BuildSecret, InvalidArgumentError, parseImageReference } from "../index.js";
import { UsageError } from "./usage-error.js";

/** `--secret id=ID,src=PATH` or `id=ID,env=VAR` (also `source=` and `type=`), paths from `cwd`. */
export function parseSecrets(values: readonly string[], cwd: string): Record<string, BuildSecret> {
  const secrets: Record<string, BuildSecret> = {};
  for (const value of values) {
    // Named by its id, never shown whole: it may hold the secret itself (`--secret S3CR3T`,
    // `--secret id=x,value=S3CR3T`).
    const idPart = value.split(",").find((part) => /^\s*id\s*=/i.test(part));
    const shown =
      idPart === undefined
        ? "(no id)"
        : JSON.stringify(`id=${idPart.slice(idPart.indexOf("=") + 1).trim()}`);
    const fields = new Map<string, string>();
    for (const part of value.split(",")) {
      const eq = part.indexOf("=");
      if (eq <= 0) {
        throw new UsageError(
          `--secret ${shown}: a part is not KEY=VALUE; use id=ID,src=PATH or id=ID,env=VAR`,
        );
      }
      const key = part.slice(0, eq).trim().toLowerCase();
      if (!["id", "src", "source", "env", "type"].includes(key)) {
        throw new UsageError(
          `--secret ${shown}: unknown key ${JSON.stringify(key)}; use id=ID,src=PATH or id=ID,env=VAR`,
        );
      }
      fields.set(key === "source" ? "src" : key, part.slice(eq + 1));
    }
    const id = fields.get("id");
    if (!id) {
      throw new UsageError("--secret needs id=ID; use id=ID,src=PATH or id=ID,env=VAR");
    }
    const type = fields.get("type");
    if (type !== undefined && type !== "file" && type !== "env") {
      throw new UsageError(
        `--secret ${shown}: type must be file or env, got ${JSON.stringify(type)}`,
      );
    }
    const src = fields.get("src");
    const env = fields.get("env");
    if ((src === undefined) === (env === undefined)) {
      throw new UsageError(`--secret ${shown} needs exactly one of src=PATH and env=VAR`);
    }
    if (Object.hasOwn(secrets, id)) {
      throw new UsageError(`--secret id ${JSON.stringify(id)} is given twice`);
    }
    if (src !== undefined) {
      if (type === "env" || src === "") {
        throw new UsageError(`--secret ${shown}: src must be a file path (and type file)`);
      }
      secrets[id] = { file: path.resolve(cwd, src) };
    } else {
      if (type === "file" || !env) {
        throw new UsageError(
          `--secret ${shown}: env must name an environment variable (and type env)`,
        );
      }
      secrets[id] = { env };
    }
  }
  return secrets;
}

/** `--ssh default` (the agent at `SSH_AUTH_SOCK`) or `--ssh ID=SOCKET`, paths from `cwd`. */
export function parseSsh(values: readonly string[], cwd: string): Record<string, string | true> {
  const ssh: Record<string, string | true> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    const id = eq === -1 ? value : value.slice(0, eq);
    const socket = eq === -1 ? undefined : value.slice(eq + 1);
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) {
      throw new UsageError(
        `--ssh ${JSON.stringify(value)}: use default, default=SOCKET or ID=SOCKET`,
      );
    }
    if (socket !== undefined && (socket === "" || socket.includes(","))) {
      throw new UsageError(
        `--ssh ${JSON.stringify(value)}: give one agent socket path after "=" (keys are not supported)`,
      );
    }
    if (Object.hasOwn(ssh, id)) {
      throw new UsageError(`--ssh id ${JSON.stringify(id)} is given twice`);
    }
    ssh[id] = socket === undefined ? true : path.resolve(cwd, socket);
  }
  return ssh;
}

/** `--build-arg KEY=VALUE`, or `KEY` for the environment's value (left out when unset). */
export function parseBuildArgs(
  values: readonly string[],
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const args: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    const key = eq === -1 ? value : value.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      // The key only: the value may be a token.
      throw new UsageError(
        `--build-arg ${JSON.stringify(eq === -1 ? key : `${key}=…`)}: use KEY=VALUE (or KEY to take it from the environment), KEY being letters, digits and _`,
      );
    }
    if (eq !== -1) args[key] = value.slice(eq + 1);
    else if (env[key] !== undefined) args[key] = env[key] as string;
  }
  return args;
}

/** A `-t` value: the reference as written, split into what the engine's tag call takes. */
export interface TagFlag {
  /** As the user wrote it, e.g. `localhost:5000/app:v1`. */
  readonly reference: string;
  /** Everything before the tag, e.g. `localhost:5000/app`. */
  readonly repository: string;
  /** The tag; `latest` when none was written, as the engine does. */
  readonly tag: string;
  /** The name to push under, without registry: `app`, `team/app`. */
  readonly pushName: string;
  /** Whether a tag was written. */
  readonly explicitTag: boolean;
}

/** Checks `-t` values by the reference grammar before anything is built. */
export function parseTags(values: readonly string[]): TagFlag[] {
  return values.map((value) => {
    let parsed: ReturnType<typeof parseImageReference>;
    try {
      parsed = parseImageReference(value);
    } catch (error) {
      throw new InvalidArgumentError(`-t ${(error as Error).message}`, { cause: error });
    }
    if (parsed.digest !== undefined) {
      throw new InvalidArgumentError(
        `-t ${JSON.stringify(value)}: a tag cannot have a digest; use NAME[:TAG]`,
      );
    }
    const repository =
      parsed.tag === undefined ? value : value.slice(0, value.length - parsed.tag.length - 1);
    const pushName = parsed.registry === "docker.io" ? parsed.familiarName : parsed.path;
    return {
      reference: value,
      repository,
      tag: parsed.tag ?? "latest",
      pushName,
      explicitTag: parsed.tag !== undefined,
    };
  });
}
