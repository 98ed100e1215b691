// resolveEngine: which engine DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and the Docker
// contexts name, as the docker CLI decides.
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EngineEndpoint, resolveEngine } from "../../src/docker-config/endpoint.js";
import { dockerClient } from "../../src/engine/docker-client.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { dockerConfig, tempDir, writeContext } from "../support/credentials/support.js";
import { type Certificates, makeCertificates } from "../support/credentials/tls.js";

let certs: Certificates;
let certsRoot: string;

beforeAll(async () => {
  certsRoot = await mkdtemp(path.join(tmpdir(), "pdu-certs-"));
  certs = await makeCertificates(certsRoot);
});

afterAll(async () => {
  await rm(certsRoot, { recursive: true, force: true });
});

/** An environment holding only what the test gives, with an empty Docker config. */
async function env(values: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const home = await tempDir("pdu-home-");
  return { HOME: home, DOCKER_CONFIG: path.join(home, ".docker"), ...values };
}

function agentOptions(endpoint: EngineEndpoint): { rejectUnauthorized?: boolean } {
  return (endpoint.modemOptions.agent as unknown as { options: { rejectUnauthorized?: boolean } })
    .options;
}

describe("resolveEngine from DOCKER_HOST", () => {
  it.each([
    ["unix:///run/custom.sock", "unix:///run/custom.sock", { socketPath: "/run/custom.sock" }],
    ["unix://", "unix:///var/run/docker.sock", { socketPath: "/var/run/docker.sock" }],
    ["/run/custom.sock", "unix:///run/custom.sock", { socketPath: "/run/custom.sock" }],
    [
      "tcp://127.0.0.1:2375",
      "tcp://127.0.0.1:2375",
      { protocol: "http", host: "127.0.0.1", port: "2375" },
    ],
    [
      "tcp://127.0.0.1",
      "tcp://127.0.0.1:2375",
      { protocol: "http", host: "127.0.0.1", port: "2375" },
    ],
    [
      "127.0.0.1:4243",
      "tcp://127.0.0.1:4243",
      { protocol: "http", host: "127.0.0.1", port: "4243" },
    ],
    ["tcp://[::1]:2375", "tcp://[::1]:2375", { protocol: "http", host: "::1", port: "2375" }],
    [
      "ssh://me@example.test:2222",
      "ssh://me@example.test:2222",
      { protocol: "ssh", host: "example.test", port: "2222", username: "me" },
    ],
  ])("reads %j as %j", async (host, url, modem) => {
    const endpoint = resolveEngine({ env: await env({ DOCKER_HOST: host }) });
    expect(endpoint).toMatchObject({ url, source: "DOCKER_HOST", modemOptions: modem });
  });

  it("passes the ssh agent of the given environment to ssh endpoints", async () => {
    const endpoint = resolveEngine({
      env: await env({ DOCKER_HOST: "ssh://me@host", SSH_AUTH_SOCK: "/tmp/agent.sock" }),
    });
    expect(endpoint.modemOptions).toMatchObject({
      port: 22,
      sshOptions: { agent: "/tmp/agent.sock" },
    });
  });

  it.each([
    ["DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH", { DOCKER_TLS_VERIFY: "1" }, true],
    ["DOCKER_TLS_VERIFY=0, which docker-py counts as set", { DOCKER_TLS_VERIFY: "0" }, true],
    ["DOCKER_CERT_PATH alone (docker-py: TLS without verification)", {}, false],
  ])("uses TLS for %s", async (_case, extra, verify) => {
    const endpoint = resolveEngine({
      env: await env({
        DOCKER_HOST: "tcp://127.0.0.1:2376",
        DOCKER_CERT_PATH: certs.clientDir,
        ...extra,
      }),
    });
    expect(endpoint.url).toBe("tcp://127.0.0.1:2376 (TLS)");
    expect(endpoint.modemOptions.protocol).toBe("https");
    expect(agentOptions(endpoint).rejectUnauthorized).toBe(verify);
  });

  it("defaults the TLS port to 2376 and the certificates to ~/.docker", async () => {
    const home = await tempDir("pdu-home-");
    await cp(certs.clientDir, path.join(home, ".docker"), { recursive: true });
    const endpoint = resolveEngine({
      env: { HOME: home, DOCKER_HOST: "tcp://127.0.0.1", DOCKER_TLS_VERIFY: "1" },
    });
    expect(endpoint.url).toBe("tcp://127.0.0.1:2376 (TLS)");
  });

  it("treats an empty DOCKER_TLS_VERIFY as off", async () => {
    const endpoint = resolveEngine({
      env: await env({ DOCKER_HOST: "tcp://127.0.0.1:2375", DOCKER_TLS_VERIFY: "" }),
    });
    expect(endpoint.url).toBe("tcp://127.0.0.1:2375");
    expect(endpoint.modemOptions.agent).toBeUndefined();
  });

  it("keeps the private key out of the options docker-modem logs", async () => {
    const endpoint = resolveEngine({
      env: await env({
        DOCKER_HOST: "tcp://127.0.0.1:2376",
        DOCKER_TLS_VERIFY: "1",
        DOCKER_CERT_PATH: certs.clientDir,
      }),
    });
    const key =
      (await readFile(path.join(certs.clientDir, "key.pem"), "utf8")).split("\n")[2] ?? "";
    expect(key.length).toBeGreaterThan(20);
    const logged = inspect(endpoint, {
      showHidden: true,
      depth: null,
      maxArrayLength: null,
      maxStringLength: null,
    });
    expect(logged).not.toContain(key);
    expect(logged).not.toContain("PRIVATE KEY");
  });

  it("names the folder when a TLS file is missing", async () => {
    const empty = await tempDir();
    expect(() =>
      resolveEngine({
        env: {
          DOCKER_HOST: "tcp://127.0.0.1:2376",
          DOCKER_TLS_VERIFY: "1",
          DOCKER_CERT_PATH: empty,
        },
      }),
    ).toThrow(new RegExp(`Cannot read ca.pem from ${empty}`));
  });

  it.each(["tcp://[oops", "fd://3"])("rejects the unusable DOCKER_HOST %j", async (host) => {
    expect(() => resolveEngine({ env: { DOCKER_HOST: host } })).toThrow(InvalidArgumentError);
  });

  it("wins over DOCKER_CONTEXT and currentContext, as in the docker CLI", async () => {
    const config = await dockerConfig({ currentContext: "current" });
    await writeContext(config, "current", "unix:///current.sock");
    await writeContext(config, "named", "unix:///named.sock");
    const endpoint = resolveEngine({
      env: { DOCKER_CONFIG: config, DOCKER_HOST: "unix:///host.sock", DOCKER_CONTEXT: "named" },
    });
    expect(endpoint).toMatchObject({ url: "unix:///host.sock", source: "DOCKER_HOST" });
  });

  it("ignores the DOCKER_HOST of the process when given another environment", async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "tcp://127.0.0.1:1";
    try {
      const docker = dockerClient({ env: await env({ DOCKER_HOST: "unix:///given.sock" }) });
      const modem = docker.modem as unknown as { host?: string; socketPath?: string };
      expect(modem.host).toBeUndefined();
      expect(modem.socketPath).toBe("/given.sock");
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});

describe("resolveEngine from Docker contexts", () => {
  it("uses the context named by DOCKER_CONTEXT, with its TLS files", async () => {
    const config = await dockerConfig({});
    await writeContext(config, "remote", "tcp://127.0.0.1:23760", {
      ca: path.join(certs.clientDir, "ca.pem"),
      cert: path.join(certs.clientDir, "cert.pem"),
      key: path.join(certs.clientDir, "key.pem"),
    });
    const endpoint = resolveEngine({ env: { DOCKER_CONFIG: config, DOCKER_CONTEXT: "remote" } });
    expect(endpoint).toMatchObject({
      url: "tcp://127.0.0.1:23760 (TLS)",
      source: 'DOCKER_CONTEXT "remote"',
      modemOptions: { protocol: "https", host: "127.0.0.1", port: "23760" },
    });
    expect(agentOptions(endpoint).rejectUnauthorized).toBe(true);
  });

  it("uses currentContext from the config and says so", async () => {
    const config = await dockerConfig({ currentContext: "colima" });
    await writeContext(config, "colima", "unix:///home/me/.colima/default/docker.sock");
    const endpoint = resolveEngine({ env: { DOCKER_CONFIG: config } });
    expect(endpoint).toMatchObject({
      url: "unix:///home/me/.colima/default/docker.sock",
      source: `currentContext "colima" in ${path.join(config, "config.json")}`,
      modemOptions: { socketPath: "/home/me/.colima/default/docker.sock" },
    });
  });

  it("prefers DOCKER_CONTEXT over currentContext", async () => {
    const config = await dockerConfig({ currentContext: "current" });
    await writeContext(config, "current", "unix:///current.sock");
    await writeContext(config, "named", "unix:///named.sock");
    expect(resolveEngine({ env: { DOCKER_CONFIG: config, DOCKER_CONTEXT: "named" } }).url).toBe(
      "unix:///named.sock",
    );
  });

  it.each([
    [true, false, "TLS without verification", false],
    [true, true, "TLS without verification, even with a CA", false],
    [false, true, "TLS verified against the context's CA", true],
  ])(
    "gives a tcp context with SkipTLSVerify=%s and a CA=%s %s",
    async (skipTlsVerify, withCa, _what, verify) => {
      const config = await dockerConfig({});
      await writeContext(config, "tls", "tcp://127.0.0.1:2376", {
        skipTlsVerify,
        ...(withCa ? { ca: path.join(certs.clientDir, "ca.pem") } : {}),
      });
      const endpoint = resolveEngine({ env: { DOCKER_CONFIG: config, DOCKER_CONTEXT: "tls" } });
      expect(endpoint.url).toBe("tcp://127.0.0.1:2376 (TLS)");
      expect(agentOptions(endpoint).rejectUnauthorized).toBe(verify);
    },
  );

  it("talks plain HTTP to a tcp context without TLS material, like the CLI", async () => {
    const config = await dockerConfig({});
    await writeContext(config, "plain", "tcp://127.0.0.1:2375");
    const endpoint = resolveEngine({ env: { DOCKER_CONFIG: config, DOCKER_CONTEXT: "plain" } });
    expect(endpoint).toMatchObject({
      url: "tcp://127.0.0.1:2375",
      modemOptions: { protocol: "http" },
    });
  });

  it("reads the context named default as the default socket", async () => {
    const config = await dockerConfig({ currentContext: "default" });
    expect(resolveEngine({ env: { DOCKER_CONFIG: config } })).toMatchObject({
      url: "unix:///var/run/docker.sock",
      source: `the default socket (currentContext "default" in ${path.join(config, "config.json")})`,
    });
  });

  it("falls back to the default socket without DOCKER_HOST or a context", async () => {
    expect(resolveEngine({ env: await env() })).toMatchObject({
      url: "unix:///var/run/docker.sock",
      source: "the default socket",
    });
  });

  it.each([
    ["DOCKER_CONTEXT", { DOCKER_CONTEXT: "ghost" }, {}, /DOCKER_CONTEXT "ghost"/],
    ["currentContext", {}, { currentContext: "ghost" }, /currentContext "ghost" in .*config.json/],
  ])(
    "names a missing context and where its name came from (%s)",
    async (_from, values, config, origin) => {
      const dir = await dockerConfig(config);
      const error = (() => {
        try {
          resolveEngine({ env: { DOCKER_CONFIG: dir, ...values } });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/Docker context "ghost" .*does not exist/);
      expect((error as Error).message).toMatch(origin);
      expect((error as Error).message).toContain(path.join(dir, "contexts", "meta"));
    },
  );

  it("names a context's TLS file and the context when the file cannot be read", async () => {
    const dir = await dockerConfig({});
    await writeContext(dir, "broken", "tcp://127.0.0.1:2376");
    const id = createHash("sha256").update("broken").digest("hex");
    const ca = path.join(dir, "contexts", "tls", id, "docker", "ca.pem");
    await mkdir(ca, { recursive: true });
    expect(() => resolveEngine({ env: { DOCKER_CONFIG: dir, DOCKER_CONTEXT: "broken" } })).toThrow(
      new InvalidArgumentError(`Cannot read ${ca} of Docker context "broken" (EISDIR)`),
    );
  });

  it("names the Docker config file when it cannot be read", async () => {
    const dir = await tempDir("pdu-config-");
    await mkdir(path.join(dir, "config.json"));
    expect(() => resolveEngine({ env: { DOCKER_CONFIG: dir } })).toThrow(
      new InvalidArgumentError(
        `Cannot read the Docker config file ${path.join(dir, "config.json")} (EISDIR)`,
      ),
    );
  });

  it("rejects a context without a Docker endpoint", async () => {
    const dir = await dockerConfig({});
    await writeContext(dir, "k8s", "");
    expect(() => resolveEngine({ env: { DOCKER_CONFIG: dir, DOCKER_CONTEXT: "k8s" } })).toThrow(
      /no Docker endpoint/,
    );
  });
});
