/**
 * Run by test/integration/auth/credentials-leaks.test.ts in a child process with DEBUG=*: exercises
 * every path that carries a registry login (pushes and private-FROM builds through the engine connection
 * and through dockerode, credential helpers, failures) and prints everything it gets — progress,
 * results, errors with their causes — so the test can grep the process's whole output.
 *
 * Input (environment): DOCKER_CONFIG with the login of the registry PDU_REGISTRY and
 * credHelpers/credsStore entries, PDU_PRIVATE_BASE (a private image in that registry),
 * PDU_TEST_RUN (the label value for built images), PDU_BAD_CONFIG (a config folder whose
 * config.json is broken and holds the password), PDU_REPOSITORY (the repository to push to, one
 * of the test's own).
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { inspect } from "node:util";
import type Docker from "dockerode";
import {
  registryAuthHeader,
  registryConfigHeader,
  resolveRegistryAuth,
} from "../../../src/auth/credentials.js";
import { dockerClient } from "../../../src/engine/docker-client.js";
import { checkEngine } from "../../../src/operation/check-engine.js";
import { buildWith, pushWith, tarOf } from "./engine-ops.js";

const registry = process.env.PDU_REGISTRY ?? "";
const privateBase = process.env.PDU_PRIVATE_BASE ?? "";
const labels = { "io.prefect-dockerutils.test-run": process.env.PDU_TEST_RUN ?? "" };

function show(what: string, value: unknown): void {
  process.stdout.write(
    `${what}: ${typeof value === "string" ? value : inspect(value, { depth: 10 })}\n`,
  );
}

async function step(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    show(what, await fn());
  } catch (error) {
    show(`${what} failed`, error);
    process.stderr.write(`${(error as Error).stack}\n`);
  }
}

async function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<unknown[]> {
  return new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, output: unknown[]) =>
      error ? reject(error) : resolve(output),
    ),
  );
}

const docker = dockerClient();
const reference = `${registry}/${process.env.PDU_REPOSITORY ?? `pdu-leak/${randomUUID()}`}:1`;
const colon = reference.lastIndexOf(":");

await step("engine", () => checkEngine({ docker }));
await step("tag", () =>
  docker.getImage("busybox:latest").tag({ repo: reference.slice(0, colon), tag: "1" }),
);
await step("push", async () => pushWith(docker, reference, await registryAuthHeader(reference)));
await step("build", async () =>
  buildWith(docker, `FROM ${privateBase}\nLABEL leak-run=1\n`, {
    registryConfig: await registryConfigHeader(),
    labels,
    pull: true,
  }),
);
await step("dockerode push", async () => {
  const auth = await resolveRegistryAuth(reference);
  const stream = await docker.getImage(reference).push({ authconfig: auth ?? {} });
  return followProgress(docker, stream);
});
await step("dockerode build", async () => {
  const auth = await resolveRegistryAuth(registry);
  const login = { username: auth?.username ?? "", password: auth?.password ?? "" };
  const options: Docker.ImageBuildOptions = {
    registryconfig: { [registry]: login },
    labels,
    pull: true,
  };
  const stream = await docker.buildImage(
    Readable.from([await tarOf({ Dockerfile: `FROM ${privateBase}\n` })]),
    options,
  );
  return followProgress(docker, stream);
});
await step("push of a missing image", async () =>
  pushWith(
    docker,
    `${registry}/pdu-leak/missing:${randomUUID()}`,
    await registryAuthHeader(registry),
  ),
);
await step("failing helper", () =>
  resolveRegistryAuth("helper.example/app", { env: { ...process.env, PDU_HELPER_MODE: "fail" } }),
);
await step("garbage helper", () =>
  resolveRegistryAuth("helper.example/app", {
    env: { ...process.env, PDU_HELPER_MODE: "garbage" },
  }),
);
await step("broken config", () =>
  resolveRegistryAuth(reference, {
    env: { ...process.env, DOCKER_CONFIG: process.env.PDU_BAD_CONFIG },
  }),
);
await step("untag", () => docker.getImage(reference).remove({ noprune: true }));
show("done", reference);
