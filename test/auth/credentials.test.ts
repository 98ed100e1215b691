import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CredentialOptions,
  type RegistryAuth,
  registryAuthHeader,
  registryConfigHeader,
  resolveAllRegistryAuths,
  resolveRegistryAuth,
} from "../../src/auth/credentials.js";
import { encodeRegistryHeader } from "../../src/auth/registry-header.js";
import { loadDockerConfig } from "../../src/docker-config/docker-config.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { registryOfImage } from "../../src/reference/image-reference.js";
import { DOCKER_HUB_KEY, registryKey } from "../../src/reference/registry-key.js";
import {
  basicAuth,
  decodeHeader,
  dockerConfig,
  envWith,
  tempDir,
} from "../support/credentials/support.js";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("registryOfImage", () => {
  it.each([
    ["busybox", "docker.io"],
    ["busybox:latest", "docker.io"],
    ["library/busybox", "docker.io"],
    ["prefecthq/prefect:3-latest", "docker.io"],
    ["docker.io/prefecthq/prefect", "docker.io"],
    ["index.docker.io/prefecthq/prefect", "docker.io"],
    ["registry-1.docker.io/prefecthq/prefect", "registry-1.docker.io"],
    ["localhost/x", "localhost"],
    ["localhost:5000/x", "localhost:5000"],
    ["127.0.0.1:5556/x:tag", "127.0.0.1:5556"],
    [`a.b/c/d@${DIGEST}`, "a.b"],
    [`a.b/c/d:1.0@${DIGEST}`, "a.b"],
    ["ghcr.io/team/app:1", "ghcr.io"],
    ["[::1]:5000/app", "[::1]:5000"],
    ["Upper/app", "Upper"],
    ["host:5000/a/b/c", "host:5000"],
    ["team/app:5000", "docker.io"],
    ["my-registry/app", "docker.io"],
  ])("gives the registry of %j as %j", (reference, registry) => {
    expect(registryOfImage(reference)).toBe(registry);
  });

  it.each([
    "",
    "UPPER",
    "ghcr.io/Team/app",
    "app:",
    "app@sha256:abc",
    "a//b",
    "-app",
    "app:tag:more",
    "a".repeat(64),
    `${"a".repeat(250)}/bbbbbb`,
  ])("rejects %j, which is not a reference", (reference) => {
    expect(() => registryOfImage(reference)).toThrow(InvalidArgumentError);
  });
});

describe("registryOfImage on generated references", () => {
  const component = fc
    .stringMatching(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/)
    .filter((c) => c.length <= 20);
  const path = fc.array(component, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));
  const suffix = fc.oneof(
    fc.constant(""),
    fc.stringMatching(/^[\w][\w.-]{0,20}$/).map((tag) => `:${tag}`),
    fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `@sha256:${hex}`),
  );
  const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
  const port = fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`);
  const domain = fc.oneof(
    fc.tuple(label, label, fc.option(port, { nil: "" })).map(([a, b, p]) => `${a}.${b}${p}`),
    fc.tuple(label, port).map(([a, p]) => `${a}${p}`),
    fc.option(port, { nil: "" }).map((p) => `localhost${p}`),
  );

  it("finds the domain in front of any path, tag and digest", () => {
    fc.assert(
      fc.property(domain, path, suffix, (host, repository, rest) => {
        fc.pre(host !== "index.docker.io");
        expect(registryOfImage(`${host}/${repository}${rest}`)).toBe(host);
      }),
    );
  });

  it("gives Docker Hub for a path whose first component is no domain", () => {
    fc.assert(
      fc.property(path, suffix, (repository, rest) => {
        fc.pre(
          !/[.]/.test(repository.split("/")[0] ?? "") &&
            (repository.split("/")[0] ?? "") !== "localhost",
        );
        expect(registryOfImage(`${repository}${rest}`)).toBe("docker.io");
      }),
    );
  });
});

describe("registryKey", () => {
  it.each([
    ["docker.io", DOCKER_HUB_KEY],
    ["index.docker.io", DOCKER_HUB_KEY],
    ["registry-1.docker.io", DOCKER_HUB_KEY],
    ["https://index.docker.io/v1/", DOCKER_HUB_KEY],
    ["https://index.docker.io/v2/", DOCKER_HUB_KEY],
    ["http://docker.io", DOCKER_HUB_KEY],
    ["Docker.IO", DOCKER_HUB_KEY],
    ["ghcr.io", "ghcr.io"],
    ["https://ghcr.io/v2/", "ghcr.io"],
    ["http://127.0.0.1:5556", "127.0.0.1:5556"],
    ["127.0.0.1:5556/some/path", "127.0.0.1:5556"],
    ["https://user@registry.example.com:8443/v2", "registry.example.com:8443"],
  ])("keys %j as %j", (registry, key) => {
    expect(registryKey(registry)).toBe(key);
  });
});

describe("encodeRegistryHeader", () => {
  it("is padded URL-safe base64 of the JSON, for any text", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string({ unit: "binary" })), (value) => {
        const header = encodeRegistryHeader(value);
        expect(header).toMatch(/^[A-Za-z0-9_-]*={0,2}$/);
        expect(header.length % 4).toBe(0);
        expect(decodeHeader(header)).toEqual(value);
      }),
    );
  });

  it("differs from standard base64 exactly where the engine would misread it", () => {
    const value = { password: "p+a/s=s\"w'ö€rd?>>>???" };
    const standard = Buffer.from(JSON.stringify(value)).toString("base64");
    expect(standard).toMatch(/[+/]/);
    expect(encodeRegistryHeader(value)).toBe(standard.replace(/\+/g, "-").replace(/\//g, "_"));
  });
});

describe("reading the Docker config", () => {
  it("decodes auth, username/password and identitytoken entries", async () => {
    const dir = await dockerConfig({
      auths: {
        "a.example": { auth: basicAuth("alice", "pa:ss") },
        "b.example": { username: "bob", password: "secret", email: "bob@example.com" },
        "c.example": { identitytoken: "refresh-token" },
        "d.example": {
          auth: basicAuth("carol", "from-auth"),
          username: "ignored",
          password: "ignored",
        },
        "e.example": {},
      },
      credsStore: "desktop",
      credHelpers: { "gcr.io": "gcloud" },
      currentContext: "remote",
    });
    const config = loadDockerConfig(envWith(dir));
    expect(config.file).toBe(path.join(dir, "config.json"));
    expect(Object.fromEntries(config.auths)).toEqual({
      "a.example": { username: "alice", password: "pa:ss" },
      "b.example": { username: "bob", password: "secret", email: "bob@example.com" },
      "c.example": { identitytoken: "refresh-token" },
      "d.example": { username: "carol", password: "from-auth" },
      "e.example": {},
    });
    expect(config.credsStore).toBe("desktop");
    expect(Object.fromEntries(config.credHelpers)).toEqual({ "gcr.io": "gcloud" });
    expect(config.currentContext).toBe("remote");
  });

  it("uses ~/.docker/config.json when DOCKER_CONFIG is not set", async () => {
    const home = await tempDir("pdu-home-");
    await mkdir(path.join(home, ".docker"));
    await writeFile(
      path.join(home, ".docker", "config.json"),
      JSON.stringify({ auths: { "h.example": { auth: basicAuth("u", "p") } } }),
    );
    const env = { HOME: home, PATH: process.env.PATH };
    expect(await resolveRegistryAuth("h.example/app", { env })).toEqual({
      username: "u",
      password: "p",
      serveraddress: "h.example",
    });
  });

  it.each([
    [
      "JSON",
      JSON.stringify({
        "https://index.docker.io/v1/": { auth: basicAuth("old", "timer"), email: "o@t" },
      }),
    ],
    ["two-line", `auth = ${basicAuth("old", "timer")}\nemail = o@t\n`],
  ])("falls back to the legacy ~/.dockercfg in its %s format", async (_format, text) => {
    const home = await tempDir("pdu-home-");
    await writeFile(path.join(home, ".dockercfg"), text);
    const env = { HOME: home, PATH: process.env.PATH };
    expect(await resolveRegistryAuth("busybox", { env })).toEqual({
      username: "old",
      password: "timer",
      email: "o@t",
      serveraddress: DOCKER_HUB_KEY,
    });
  });

  it("ignores ~/.dockercfg when config.json exists, like the CLI", async () => {
    const home = await tempDir("pdu-home-");
    await mkdir(path.join(home, ".docker"));
    await writeFile(path.join(home, ".docker", "config.json"), "{}");
    await writeFile(
      path.join(home, ".dockercfg"),
      `auth = ${basicAuth("old", "timer")}\nemail = o@t\n`,
    );
    expect(await resolveRegistryAuth("busybox", { env: { HOME: home } })).toBeUndefined();
  });

  it("names the file and the place of a JSON error, never the contents", async () => {
    const dir = await tempDir();
    await writeFile(
      path.join(dir, "config.json"),
      '{\n  "auths": {"x": {"auth": "c2VjcmV0LXZhbHVl"}},,\n}',
    );
    const error = await resolveRegistryAuth("x/app", { env: envWith(dir) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(path.join(dir, "config.json"));
    expect((error as Error).message).toMatch(/line 2 column \d+/);
    expect((error as Error).message).not.toContain("c2VjcmV0");
    expect((error as Error).cause).toBeUndefined();
  });

  it("rejects an auth that is not base64 of user:password without showing it", async () => {
    const dir = await dockerConfig({
      auths: { "x.example": { auth: basicAuth("no-colon-here", "").slice(0, 16) } },
    });
    const error = await resolveRegistryAuth("x.example/app", { env: envWith(dir) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('auths["x.example"].auth');
  });
});

describe("resolveRegistryAuth", () => {
  it("finds Docker Hub's login under its canonical key for any of its names", async () => {
    const dir = await dockerConfig({
      auths: { [DOCKER_HUB_KEY]: { auth: basicAuth("hub", "pw") } },
    });
    const env = envWith(dir);
    for (const name of [
      "busybox",
      "prefecthq/prefect:3",
      "docker.io/library/busybox",
      "index.docker.io/x/y",
      "registry-1.docker.io/x/y",
      "docker.io",
      "https://index.docker.io/v1/",
    ]) {
      expect(await resolveRegistryAuth(name, { env }), name).toEqual({
        username: "hub",
        password: "pw",
        serveraddress: DOCKER_HUB_KEY,
      });
    }
  });

  it.each(["docker.io", "https://index.docker.io/v1/access", "registry-1.docker.io"])(
    "finds Docker Hub's login stored under the alias %j",
    async (key) => {
      const dir = await dockerConfig({ auths: { [key]: { auth: basicAuth("hub", "pw") } } });
      expect(await resolveRegistryAuth("busybox", { env: envWith(dir) })).toMatchObject({
        username: "hub",
      });
    },
  );

  it("matches keys with scheme and path to the registry's host, preferring the exact key", async () => {
    const dir = await dockerConfig({
      auths: {
        "https://r.example:5000/v2/": { auth: basicAuth("by-url", "1") },
        "r.example:5000": { auth: basicAuth("exact", "2") },
        "http://s.example": { auth: basicAuth("by-url", "3") },
      },
    });
    const env = envWith(dir);
    expect(await resolveRegistryAuth("r.example:5000/app:1", { env })).toMatchObject({
      username: "exact",
    });
    expect(await resolveRegistryAuth("s.example/app", { env })).toEqual({
      username: "by-url",
      password: "3",
      serveraddress: "http://s.example",
    });
    expect(await resolveRegistryAuth("other.example/app", { env })).toBeUndefined();
  });

  it.each([
    ["https://127.0.0.1:5556", "127.0.0.1:5556"],
    ["127.0.0.1:5556", "127.0.0.1:5556"],
    ["localhost:5000", "localhost:5000"],
    ["ghcr.io", "ghcr.io"],
    ["[::1]:5000", "[::1]:5000"],
  ])("reads %j as the registry %j", async (input, key) => {
    const dir = await dockerConfig({ auths: { [key]: { auth: basicAuth("u", "p") } } });
    expect(await resolveRegistryAuth(input, { env: envWith(dir) })).toMatchObject({
      serveraddress: key,
    });
  });

  it("lets explicit credentials override the config, a single one for any registry", async () => {
    const dir = await dockerConfig({ auths: { "r.example": { auth: basicAuth("file", "f") } } });
    const env = envWith(dir);
    const auth: RegistryAuth = { username: "code", password: "c" };
    expect(await resolveRegistryAuth("r.example/app", { env, auth })).toEqual({
      username: "code",
      password: "c",
      serveraddress: "r.example",
    });
    expect(await resolveRegistryAuth("busybox", { env, auth })).toMatchObject({ username: "code" });
  });

  it("lets a map of explicit credentials override only the registries it names", async () => {
    const dir = await dockerConfig({
      auths: {
        "r.example": { auth: basicAuth("file", "f") },
        "s.example": { auth: basicAuth("file", "s") },
      },
    });
    const env = envWith(dir);
    const auth = {
      "https://r.example/v2/": { username: "code", password: "c" },
      "docker.io": { identitytoken: "t" },
    };
    expect(await resolveRegistryAuth("r.example/app", { env, auth })).toMatchObject({
      username: "code",
    });
    expect(await resolveRegistryAuth("s.example/app", { env, auth })).toMatchObject({
      username: "file",
    });
    expect(await resolveRegistryAuth("busybox", { env, auth })).toEqual({
      identitytoken: "t",
      serveraddress: DOCKER_HUB_KEY,
    });
  });

  it("treats an empty auth object as no explicit credentials", async () => {
    const dir = await dockerConfig({ auths: { "r.example": { auth: basicAuth("file", "f") } } });
    expect(await resolveRegistryAuth("r.example/a", { env: envWith(dir), auth: {} })).toMatchObject(
      {
        username: "file",
      },
    );
  });

  it.each([
    [{ username: "u", passwd: "x" }, /unknown field "passwd"/],
    [{ username: 1 }, /auth.username must be a string/],
    [{ "r.example": { username: "u" }, password: "p" }, /cannot mix/],
    [{ "r.example": { user: "u" } }, /auth\["r.example"\] has the unknown field "user"/],
  ])("rejects the explicit auth %j, naming the problem but no value", async (auth, message) => {
    const error = await resolveRegistryAuth("r.example/a", {
      env: envWith(await tempDir()),
      auth: auth as unknown as CredentialOptions["auth"],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/"p"|"x"/);
  });

  it("has nothing when there is no config at all", async () => {
    const empty = await tempDir();
    expect(
      await resolveRegistryAuth("busybox", { env: { DOCKER_CONFIG: empty, HOME: empty } }),
    ).toBeUndefined();
  });
});

describe("registryAuthHeader", () => {
  it("is base64url of {} when there are no credentials", async () => {
    const empty = await tempDir();
    const header = await registryAuthHeader("busybox", {
      env: { DOCKER_CONFIG: empty, HOME: empty },
    });
    expect(header).toBe("e30=");
    expect(decodeHeader(header)).toEqual({});
  });

  it("carries the login as the engine's AuthConfig JSON", async () => {
    const password = "p+a/s=s\"w'ö€rd?";
    const dir = await dockerConfig({
      auths: { "127.0.0.1:5556": { auth: basicAuth("pdu-user", password) } },
    });
    const header = await registryAuthHeader("127.0.0.1:5556/team/app:1", { env: envWith(dir) });
    expect(decodeHeader(header)).toEqual({
      username: "pdu-user",
      password,
      serveraddress: "127.0.0.1:5556",
    });
  });
});

describe("registryConfigHeader", () => {
  it("is undefined when no registry has credentials", async () => {
    const dir = await dockerConfig({ auths: { "r.example": {} } });
    expect(await registryConfigHeader({ env: envWith(dir) })).toBeUndefined();
  });

  it("maps every configured registry under the key the engine looks up", async () => {
    const dir = await dockerConfig({
      auths: {
        "https://index.docker.io/v1/": { auth: basicAuth("hub", "h") },
        "https://r.example:5000/v2/": { auth: basicAuth("r", "r") },
        "t.example": { identitytoken: "tok" },
        "empty.example": {},
      },
    });
    const header = await registryConfigHeader({
      env: envWith(dir),
      auth: { "code.example": { username: "c", password: "c" } },
    });
    expect(decodeHeader(header ?? "")).toEqual({
      [DOCKER_HUB_KEY]: { username: "hub", password: "h", serveraddress: DOCKER_HUB_KEY },
      "r.example:5000": {
        username: "r",
        password: "r",
        serveraddress: "https://r.example:5000/v2/",
      },
      "t.example": { identitytoken: "tok", serveraddress: "t.example" },
      "code.example": { username: "c", password: "c", serveraddress: "code.example" },
    });
  });

  it("keys a single explicit login by its serveraddress, and refuses one without", async () => {
    const dir = await tempDir();
    const env = envWith(dir);
    const all = await resolveAllRegistryAuths({
      env,
      auth: { username: "u", password: "p", serveraddress: "docker.io" },
    });
    expect(Object.fromEntries(all)).toEqual({
      [DOCKER_HUB_KEY]: { username: "u", password: "p", serveraddress: "docker.io" },
    });
    await expect(
      registryConfigHeader({ env, auth: { username: "u", password: "p" } }),
    ).rejects.toThrow(/serveraddress/);
  });
});
