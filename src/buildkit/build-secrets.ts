/**
 * The `secrets` option: checked before any I/O, then read once per build.
 * @module
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { InvalidArgumentError } from "../errors.js";
import { kindOf, show } from "../validate.js";

/** A BuildKit secret: exactly one of `value`, `file` or `env`. */
export interface BuildKitSecret {
  /** The secret itself. */
  readonly value?: string | Uint8Array | undefined;
  /** A file whose content is the secret, like `docker build --secret id=x,src=FILE`. */
  readonly file?: string | undefined;
  /** An environment variable holding the secret, like `docker build --secret id=x,env=VAR`. */
  readonly env?: string | undefined;
}

/** The largest secret BuildKit accepts (its `MaxSecretSize`, 500 KiB). */
export const MAX_SECRET_BYTES = 500 * 1024;

const SOURCES = ["value", "file", "env"] as const;

/**
 * Checks the `secrets` option without reading anything: an object of IDs, each with exactly one
 * source of the right type. Messages name the ID and the source, never a value.
 */
export function validateSecrets(
  secrets: unknown,
): Readonly<Record<string, BuildKitSecret>> | undefined {
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
    const given = SOURCES.filter((source) => (secret as BuildKitSecret)[source] !== undefined);
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
    const { value, file, env } = secret as BuildKitSecret;
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
    const size =
      value === undefined
        ? 0
        : typeof value === "string"
          ? Buffer.byteLength(value)
          : value.byteLength;
    if (size > MAX_SECRET_BYTES) {
      throw new InvalidArgumentError(
        `${name}.value is ${size} bytes; BuildKit takes secrets of at most ${MAX_SECRET_BYTES} bytes`,
      );
    }
  }
  return secrets as Readonly<Record<string, BuildKitSecret>>;
}

/**
 * Reads every secret's value: files are read (regular files only, at most 500 KiB), variables
 * looked up in `env`. Fails with an {@link InvalidArgumentError} naming the ID and the file or
 * variable, never the value.
 */
export async function readSecrets(
  secrets: Readonly<Record<string, BuildKitSecret>> | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Map<string, Uint8Array>> {
  const values = new Map<string, Uint8Array>();
  for (const [id, secret] of Object.entries(secrets ?? {})) {
    const name = `secrets[${JSON.stringify(id)}]`;
    if (secret.value !== undefined) {
      values.set(
        id,
        typeof secret.value === "string" ? Buffer.from(secret.value, "utf8") : secret.value,
      );
    } else if (secret.env !== undefined) {
      const value = env[secret.env];
      if (value === undefined) {
        throw new InvalidArgumentError(
          `${name}.env names ${secret.env}, which is not set in the environment`,
        );
      }
      values.set(id, Buffer.from(value, "utf8"));
    } else if (secret.file !== undefined) {
      values.set(id, await readSecretFile(name, secret.file));
    }
  }
  return values;
}

async function readSecretFile(name: string, file: string): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: a FIFO in place of the file must fail below, not hang the build here.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    throw new InvalidArgumentError(
      `${name}.file ${file} cannot be read: ${(cause as Error).message}`,
      { cause },
    );
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new InvalidArgumentError(`${name}.file ${file} is not a regular file`);
    }
    if (stats.size > MAX_SECRET_BYTES) {
      throw new InvalidArgumentError(
        `${name}.file ${file} is ${stats.size} bytes; BuildKit takes secrets of at most ${MAX_SECRET_BYTES} bytes`,
      );
    }
    const buffer = Buffer.alloc(stats.size);
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await handle.read(buffer, read, buffer.length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return buffer.subarray(0, read);
  } finally {
    await handle.close();
  }
}
