/**
 * `moby.buildkit.secrets.v1.Secrets`: the values of `RUN --mount=type=secret,id=...`, read once
 * per build from the `secrets` option (checked in `build-image-options.ts`).
 * @module
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { createDebug } from "../debug-logger.js";
import { InvalidArgumentError } from "../errors.js";
import { type BuildSecret, MAX_SECRET_BYTES } from "../operation/build-image-options.js";
import { SecretsDefinition } from "./generated/github.com/moby/buildkit/session/secrets/secrets.js";
import { GrpcStatus } from "./session-server.js";
import { defineService, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

/**
 * Reads every secret's value: a regular file of at most {@link MAX_SECRET_BYTES}, or a variable
 * of `env`.
 * @throws InvalidArgumentError naming the ID and the file or variable, never the value.
 */
export async function readSecrets(
  secrets: Readonly<Record<string, BuildSecret>> | undefined,
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

/**
 * The Secrets service. An unknown ID answers NOT_FOUND, as the docker CLI's does, so a
 * `required` secret fails with BuildKit's own `secret <id> not found` and an optional one is
 * left out of the RUN.
 */
export function secretsService(secrets: ReadonlyMap<string, Uint8Array>): SessionService {
  return defineService(SecretsDefinition, {
    getSecret: (call) => {
      const id = call.request.ID;
      const value = secrets.get(id);
      // The ID only: a secret's value never reaches a log.
      debug("session secret %j: %s", id, value ? "served" : "not found");
      if (value === undefined) {
        call.end({ code: GrpcStatus.NOT_FOUND, details: "not found" });
        return;
      }
      call.write({ data: value });
      call.end();
    },
  });
}
