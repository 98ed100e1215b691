// Engine discovery against real engines: the one of scripts/test-services.sh on the default socket,
// and a second dockerd this file starts on tcp://127.0.0.1:<port> with --tlsverify, reached
// through DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH and through Docker contexts made by
// the docker CLI itself.
//
// Why a second dockerd rather than a TLS proxy in front of the socket: only a real engine proves
// that the TLS settings match what dockerd expects (client certificates under --tlsverify, its
// answer to plain HTTP), and `docker info` then tells by its data root which engine answered.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { registryAuthHeader, registryConfigHeader } from "../../../src/auth/credentials.js";
import { encodeRegistryHeader } from "../../../src/auth/registry-header.js";
import { resolveEngine } from "../../../src/docker-config/endpoint.js";
import { dockerClient } from "../../../src/engine/docker-client.js";
import { EngineUnreachableError } from "../../../src/errors.js";
import { checkEngine } from "../../../src/operation/check-engine.js";
import {
  authRegistry,
  buildWith,
  deleteManifest,
  dockerCli,
  type Login,
  pushWith,
  registryDigest,
  startTlsEngine,
  type TlsEngine,
} from "../../support/credentials/engine-ops.js";
import { basicAuth, dockerConfig, envWith } from "../../support/credentials/support.js";
import { type Certificates, makeCertificates } from "../../support/credentials/tls.js";
import { testRepository } from "../support.js";

const local = new Docker({ socketPath: "/var/run/docker.sock" });
let certsRoot: string;
let certs: Certificates;
let engine: TlsEngine;
let registry: Login & { host: string };

beforeAll(async () => {
  certsRoot = await mkdtemp(path.join(tmpdir(), "pdu-certs-"));
  certs = await makeCertificates(certsRoot);
  engine = await startTlsEngine(certs);
  registry = await authRegistry();
});

afterAll(async () => {
  await engine?.stop();
  await rm(certsRoot, { recursive: true, force: true });
});

/** The environment of a client using DOCKER_HOST with TLS, and an empty Docker config. */
async function tlsEnv(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  return {
    ...envWith(await dockerConfig({})),
    DOCKER_HOST: `tcp://127.0.0.1:${engine.port}`,
    DOCKER_TLS_VERIFY: "1",
    DOCKER_CERT_PATH: certs.clientDir,
    ...extra,
  };
}

async function rootDirOf(docker: Docker): Promise<string> {
  return ((await docker.info()) as { DockerRootDir: string }).DockerRootDir;
}

async function expectUnreachable(
  env: NodeJS.ProcessEnv,
  ...fragments: (string | RegExp)[]
): Promise<void> {
  const error = await checkEngine({ docker: dockerClient({ env }) }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(EngineUnreachableError);
  for (const fragment of fragments) expect((error as Error).message).toMatch(fragment);
}

describe("the default engine", () => {
  it("answers on the default socket", async () => {
    const endpoint = await checkEngine({
      docker: dockerClient({ env: envWith(await dockerConfig({})) }),
    });
    expect(endpoint).toMatchObject({
      url: "unix:///var/run/docker.sock",
      source: "the default socket",
    });
  });

  it("fails a dead unix socket fast, naming it", async () => {
    const env = {
      ...envWith(await dockerConfig({})),
      DOCKER_HOST: `unix:///tmp/pdu-${randomUUID()}.sock`,
    };
    await expectUnreachable(env, env.DOCKER_HOST ?? "", "(from DOCKER_HOST)", "ENOENT");
  });
});

describe("an engine over TCP with TLS", () => {
  it("is reached through DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", async () => {
    const docker = dockerClient({ env: await tlsEnv() });
    const endpoint = await checkEngine({ docker });
    expect(endpoint).toMatchObject({
      url: `tcp://127.0.0.1:${engine.port} (TLS)`,
      source: "DOCKER_HOST",
    });
    expect(await rootDirOf(docker)).toBe(engine.dataRoot);
    expect(await rootDirOf(local)).not.toBe(engine.dataRoot);
  });

  it("refuses an engine certificate from another CA when verifying", async () => {
    await expectUnreachable(
      await tlsEnv({ DOCKER_CERT_PATH: certs.wrongCaDir }),
      `tcp://127.0.0.1:${engine.port} (TLS) (from DOCKER_HOST)`,
      /certificate/i,
    );
  });

  it("does not verify the engine's certificate with DOCKER_CERT_PATH alone, as docker-py", async () => {
    const env = await tlsEnv({ DOCKER_CERT_PATH: certs.wrongCaDir });
    delete env.DOCKER_TLS_VERIFY;
    const docker = dockerClient({ env });
    await checkEngine({ docker });
    expect(await rootDirOf(docker)).toBe(engine.dataRoot);
  });

  it("explains plain HTTP sent to the TLS port", async () => {
    const env = await tlsEnv();
    delete env.DOCKER_TLS_VERIFY;
    delete env.DOCKER_CERT_PATH;
    await expectUnreachable(
      env,
      `tcp://127.0.0.1:${engine.port} (from DOCKER_HOST)`,
      "Client sent an HTTP request to an HTTPS server",
      "set DOCKER_TLS_VERIFY=1",
    );
  });

  it("is refused by the engine without a client certificate", async () => {
    const config = await dockerConfig({});
    await dockerCli(
      [
        "context",
        "create",
        "no-client-cert",
        "--docker",
        `host=tcp://127.0.0.1:${engine.port},ca=${certs.caCert}`,
      ],
      envWith(config),
    );
    await expectUnreachable(
      { ...envWith(config), DOCKER_CONTEXT: "no-client-cert" },
      `(from DOCKER_CONTEXT "no-client-cert")`,
    );
  });
});

describe("an engine through a Docker context", () => {
  /** A config folder with a context made by the docker CLI for the TLS engine. */
  async function withContext(name: string, tls: string): Promise<string> {
    const config = await dockerConfig({});
    await dockerCli(
      ["context", "create", name, "--docker", `host=tcp://127.0.0.1:${engine.port},${tls}`],
      envWith(config),
    );
    return config;
  }

  const clientTls = () =>
    `ca=${path.join(certs.clientDir, "ca.pem")},cert=${path.join(certs.clientDir, "cert.pem")},key=${path.join(certs.clientDir, "key.pem")}`;

  it("is reached through DOCKER_CONTEXT", async () => {
    const config = await withContext("remote", clientTls());
    const docker = dockerClient({ env: { ...envWith(config), DOCKER_CONTEXT: "remote" } });
    expect(await checkEngine({ docker })).toMatchObject({
      url: `tcp://127.0.0.1:${engine.port} (TLS)`,
      source: 'DOCKER_CONTEXT "remote"',
    });
    expect(await rootDirOf(docker)).toBe(engine.dataRoot);
  });

  it("is reached through the currentContext `docker context use` sets", async () => {
    const config = await withContext("remote", clientTls());
    await dockerCli(["context", "use", "remote"], envWith(config));
    const docker = dockerClient({ env: envWith(config) });
    expect((await checkEngine({ docker })).source).toBe(
      `currentContext "remote" in ${path.join(config, "config.json")}`,
    );
    expect(await rootDirOf(docker)).toBe(engine.dataRoot);
  });

  it("gives way to DOCKER_HOST, as in the docker CLI", async () => {
    const config = await withContext("remote", clientTls());
    const env = {
      ...envWith(config),
      DOCKER_CONTEXT: "remote",
      DOCKER_HOST: "unix:///var/run/docker.sock",
    };
    expect(await rootDirOf(dockerClient({ env }))).toBe(await rootDirOf(local));
    expect(resolveEngine({ env }).source).toBe("DOCKER_HOST");
  });

  it("verifies the engine against the context's CA, unless it says skip-tls-verify", async () => {
    const wrong = `ca=${path.join(certs.wrongCaDir, "ca.pem")},cert=${path.join(certs.clientDir, "cert.pem")},key=${path.join(certs.clientDir, "key.pem")}`;
    const verifying = await withContext("wrong-ca", wrong);
    await expectUnreachable({ ...envWith(verifying), DOCKER_CONTEXT: "wrong-ca" }, /certificate/i);
    const skipping = await withContext("skip", `${wrong},skip-tls-verify=true`);
    const docker = dockerClient({ env: { ...envWith(skipping), DOCKER_CONTEXT: "skip" } });
    await checkEngine({ docker });
    expect(await rootDirOf(docker)).toBe(engine.dataRoot);
  });

  it("builds FROM a private image and pushes it, with credentials, on the TLS engine", async () => {
    const login = { username: registry.username, password: registry.password };
    // The base image, pushed from the local engine.
    const baseRepository = testRepository("tls-base");
    const base = `${registry.host}/${baseRepository}:1`;
    await local
      .getImage("busybox:latest")
      .tag({ repo: `${registry.host}/${baseRepository}`, tag: "1" });
    const basePush = await pushWith(
      local,
      base,
      encodeRegistryHeader({ ...login, serveraddress: registry.host }),
    );
    await local.getImage(base).remove({ noprune: true });
    expect(basePush.error).toBeUndefined();

    const config = await withContext("remote", clientTls());
    // The CLI made the context; the login goes into the same config file beside currentContext.
    await writeFile(
      path.join(config, "config.json"),
      JSON.stringify({
        currentContext: "remote",
        auths: { [registry.host]: { auth: basicAuth(login.username, login.password) } },
      }),
    );
    const env = envWith(config);
    const docker = dockerClient({ env });
    const repository = testRepository("tls-built");
    try {
      expect((await checkEngine({ docker })).source).toMatch(/^currentContext "remote"/);
      const built = await buildWith(docker, `FROM ${base}\nLABEL built-on=tls-engine\n`, {
        registryConfig: await registryConfigHeader({ env }),
        labels: { "io.prefect-dockerutils.test-run": inject("testRun") },
      });
      expect(built.error).toBeUndefined();
      expect(built.output).toContain(`Pulling from ${baseRepository}`);
      await docker
        .getImage(built.id ?? "")
        .tag({ repo: `${registry.host}/${repository}`, tag: "1" });
      const reference = `${registry.host}/${repository}:1`;
      const pushed = await pushWith(
        docker,
        reference,
        await registryAuthHeader(reference, { env }),
      );
      expect(pushed.error).toBeUndefined();
      expect(await registryDigest(registry.host, repository, "1", login)).toBe(pushed.id);
      await deleteManifest(registry.host, repository, pushed.id ?? "", login);
    } finally {
      await deleteManifest(registry.host, baseRepository, basePush.id ?? "", login);
    }
  });
});
