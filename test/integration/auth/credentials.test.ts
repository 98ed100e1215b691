// Registry credentials on the real engine and the htpasswd registry of scripts/test-services.sh:
// pushes (X-Registry-Auth) and private FROM builds (X-Registry-Config), with logins found in a
// temporary DOCKER_CONFIG, in a credential helper that speaks the protocol, and in code.
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest";
import { registryAuthHeader, registryConfigHeader } from "../../../src/auth/credentials.js";
import { encodeRegistryHeader } from "../../../src/auth/registry-header.js";
import { dockerClient } from "../../../src/engine/docker-client.js";
import {
  authRegistry,
  buildWith,
  deleteManifest,
  dockerCli,
  type Login,
  pushWith,
  registryDigest,
  startRegistry,
  type TestRegistry,
  tarOf,
} from "../../support/credentials/engine-ops.js";
import {
  basicAuth,
  dockerConfig,
  envWith,
  installHelper,
} from "../../support/credentials/support.js";
import { docker, testRepository } from "../support.js";

const labels = () => ({ "io.prefect-dockerutils.test-run": inject("testRun") });

let registry: Login & { host: string };
/** A private image in the htpasswd registry that the builds use as FROM. */
let privateBase: { repository: string; reference: string; digest: string };

/**
 * Tags busybox as `<host>/<repository>:<tag>`, untagged again when the test finishes. The
 * repository is by default one of the test's own in this run's namespace (testRepository), whose
 * pushed tags are deleted from the registry when the test finishes.
 */
async function localTag(host: string, repository = testRepository("cred")): Promise<string> {
  const tag = randomUUID();
  await docker.getImage("busybox:latest").tag({ repo: `${host}/${repository}`, tag });
  const reference = `${host}/${repository}:${tag}`;
  onTestFinished(async () => {
    await docker
      .getImage(reference)
      .remove({ noprune: true })
      .catch(() => undefined);
  });
  return reference;
}

/** Removes a pushed manifest from the registry when the test finishes. */
function forgetPushed(
  host: string,
  reference: string,
  digest: string | undefined,
  login: Login,
): void {
  const repository = reference.slice(host.length + 1, reference.lastIndexOf(":"));
  onTestFinished(async () => {
    if (digest) await deleteManifest(host, repository, digest, login);
  });
}

/** Makes sure the engine has no local copy, so a build must pull it with credentials. */
async function dropLocal(reference: string): Promise<void> {
  await docker
    .getImage(reference)
    .remove({ noprune: true })
    .catch(() => undefined);
}

const FROM_PRIVATE = () =>
  `FROM ${privateBase.reference}\nLABEL io.prefect-dockerutils.test=${randomUUID()}\n`;

// The images the builds below make carry the run label (labels()), so the global teardown
// removes them: removing one here by its ID could take another test's image or cached layers.
const baseRepository = testRepository("cred-base", "file");
beforeAll(async () => {
  registry = await authRegistry();
  const repository = baseRepository;
  const reference = `${registry.host}/${repository}:1`;
  await docker.getImage("busybox:latest").tag({ repo: `${registry.host}/${repository}`, tag: "1" });
  const pushed = await pushWith(
    docker,
    reference,
    encodeRegistryHeader({ ...registry, serveraddress: registry.host }),
  );
  expect(pushed.error).toBeUndefined();
  privateBase = { repository, reference, digest: pushed.id ?? "" };
  await dropLocal(reference);
});

afterAll(async () => {
  await dropLocal(privateBase.reference);
});

describe("pushing with credentials", () => {
  it("pushes through auths in a temporary DOCKER_CONFIG", async () => {
    const config = await dockerConfig({
      auths: { [registry.host]: { auth: basicAuth(registry.username, registry.password) } },
    });
    const reference = await localTag(registry.host);
    const header = await registryAuthHeader(reference, { env: envWith(config) });
    const pushed = await pushWith(docker, reference, header);
    forgetPushed(registry.host, reference, pushed.id, registry);
    expect(pushed.error).toBeUndefined();
    expect(pushed.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const [repository, tag] = [
      reference.slice(registry.host.length + 1, reference.lastIndexOf(":")),
      reference.slice(reference.lastIndexOf(":") + 1),
    ];
    expect(await registryDigest(registry.host, repository, tag, registry)).toBe(pushed.id);
  });

  it("pushes through a credential helper named in credHelpers", async () => {
    const helper = await installHelper("pdu-test", {
      [registry.host]: { Username: registry.username, Secret: registry.password },
    });
    const config = await dockerConfig({ credHelpers: { [registry.host]: "pdu-test" } });
    const reference = await localTag(registry.host);
    const pushed = await pushWith(
      docker,
      reference,
      await registryAuthHeader(reference, { env: envWith(config, helper.binDir) }),
    );
    forgetPushed(registry.host, reference, pushed.id, registry);
    expect(pushed.error).toBeUndefined();
    expect(await helper.calls()).toEqual([{ action: "get", input: registry.host }]);
  });

  it("pushes with explicit credentials, which override a wrong login in the config", async () => {
    const config = await dockerConfig({
      auths: { [registry.host]: { auth: basicAuth(registry.username, "wrong") } },
    });
    const reference = await localTag(registry.host);
    const auth = { username: registry.username, password: registry.password };
    const pushed = await pushWith(
      docker,
      reference,
      await registryAuthHeader(reference, { env: envWith(config), auth }),
    );
    forgetPushed(registry.host, reference, pushed.id, registry);
    expect(pushed.error).toBeUndefined();
  });

  it.each([
    ["auths", false],
    ["a credsStore helper", true],
  ])("reads what `docker login` stored in %s", async (_where, withHelper) => {
    const helper = await installHelper("pdu-login", {});
    const config = await dockerConfig(withHelper ? { credsStore: "pdu-login" } : {});
    const env = envWith(config, helper.binDir);
    await dockerCli(
      ["login", registry.host, "--username", registry.username, "--password-stdin"],
      env,
      registry.password,
    );
    if (withHelper) expect((await helper.calls()).map((call) => call.action)).toContain("store");
    const reference = await localTag(registry.host);
    const pushed = await pushWith(docker, reference, await registryAuthHeader(reference, { env }));
    forgetPushed(registry.host, reference, pushed.id, registry);
    expect(pushed.error).toBeUndefined();
  });

  it("gives the registry's unauthorized text for a wrong password", async () => {
    const config = await dockerConfig({
      auths: { [registry.host]: { auth: basicAuth(registry.username, "wrong") } },
    });
    const reference = await localTag(registry.host);
    const pushed = await pushWith(
      docker,
      reference,
      await registryAuthHeader(reference, { env: envWith(config) }),
    );
    expect(pushed.error).toBe("unauthorized: authentication required");
  });

  it("gives the engine's text when there are no credentials at all", async () => {
    const config = await dockerConfig({});
    const reference = await localTag(registry.host);
    const header = await registryAuthHeader(reference, { env: envWith(config) });
    expect(header).toBe("e30=");
    expect((await pushWith(docker, reference, header)).error).toBe("no basic auth credentials");
  });

  it("needs URL-safe base64 with padding: the engine drops the other encodings of the same login", async () => {
    const login = {
      username: registry.username,
      password: registry.password,
      serveraddress: registry.host,
    };
    const json = Buffer.from(JSON.stringify(login));
    const ours = encodeRegistryHeader(login);
    const standard = json.toString("base64");
    const unpadded = json.toString("base64url");
    expect(standard).not.toBe(ours);
    expect(unpadded).not.toBe(ours);
    const reference = await localTag(registry.host);
    expect((await pushWith(docker, reference, standard)).error).toBe("no basic auth credentials");
    expect((await pushWith(docker, reference, unpadded)).error).toBe("no basic auth credentials");
    const pushed = await pushWith(docker, reference, ours);
    forgetPushed(registry.host, reference, pushed.id, registry);
    expect(pushed.error).toBeUndefined();
  });
});

describe("building FROM a private image", () => {
  it("pulls it with the auths of a temporary DOCKER_CONFIG", async () => {
    const config = await dockerConfig({
      auths: {
        [`http://${registry.host}`]: { auth: basicAuth(registry.username, registry.password) },
      },
    });
    await dropLocal(privateBase.reference);
    const built = await buildWith(docker, FROM_PRIVATE(), {
      registryConfig: await registryConfigHeader({ env: envWith(config) }),
      labels: labels(),
    });
    expect(built.error).toBeUndefined();
    expect(built.output).toContain(`Pulling from ${privateBase.repository}`);
    expect(built.id).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("pulls it with every login a credsStore helper lists", async () => {
    const helper = await installHelper("pdu-store", {
      [registry.host]: { Username: registry.username, Secret: registry.password },
      "unrelated.example": { Username: "someone", Secret: "else" },
    });
    const config = await dockerConfig({ credsStore: "pdu-store" });
    await dropLocal(privateBase.reference);
    const built = await buildWith(docker, FROM_PRIVATE(), {
      registryConfig: await registryConfigHeader({ env: envWith(config, helper.binDir) }),
      labels: labels(),
    });
    expect(built.error).toBeUndefined();
    expect((await helper.calls()).map((call) => call.action)).toEqual(["list", "get", "get"]);
  });

  it("pulls it with explicit credentials for that registry", async () => {
    const config = await dockerConfig({});
    await dropLocal(privateBase.reference);
    const auth = { [registry.host]: { username: registry.username, password: registry.password } };
    const built = await buildWith(docker, FROM_PRIVATE(), {
      registryConfig: await registryConfigHeader({ env: envWith(config), auth }),
      labels: labels(),
    });
    expect(built.error).toBeUndefined();
  });

  it("gives the registry's unauthorized text for a wrong password", async () => {
    const config = await dockerConfig({
      auths: { [registry.host]: { auth: basicAuth(registry.username, "wrong") } },
    });
    await dropLocal(privateBase.reference);
    const built = await buildWith(docker, FROM_PRIVATE(), {
      registryConfig: await registryConfigHeader({ env: envWith(config) }),
      labels: labels(),
    });
    expect(built.error).toContain("unauthorized: authentication required");
  });

  it("fixes dockerode's registryconfig when sent through dockerClient()", async () => {
    const registryconfig = {
      [registry.host]: { username: registry.username, password: registry.password },
    };
    // The login's standard base64 has a "/" or "+", the case docker-modem gets wrong.
    expect(Buffer.from(JSON.stringify(registryconfig)).toString("base64")).toMatch(/[+/]/);
    const build = async (client: Docker) => {
      await dropLocal(privateBase.reference);
      const stream = await client.buildImage(
        Readable.from([await tarOf({ Dockerfile: FROM_PRIVATE() })]),
        {
          registryconfig,
          labels: labels(),
          forcerm: true,
        } as Docker.ImageBuildOptions,
      );
      const lines = await new Promise<{ error?: string; aux?: { ID?: string } }[]>(
        (resolve, reject) =>
          client.modem.followProgress(
            stream,
            (error: Error | null, output: { error?: string }[]) =>
              error ? reject(error) : resolve(output),
          ),
      );
      return lines.find((line) => line.error)?.error;
    };
    expect(await build(docker)).toMatch(/no basic auth credentials|unauthorized/);
    expect(await build(dockerClient({ env: envWith(await dockerConfig({})) }))).toBeUndefined();
  });
});

describe("symbol-rich passwords", () => {
  // Each password is its base plus the shortest filler that makes the standard base64 of the
  // login JSON hold both "+" and "/" and end in the wanted padding: the cases where a header in
  // standard base64, or without padding, is dropped by the engine.
  const bases = [
    { username: "quote", base: `p+a/s=s"w'ö€rd?`, padding: 0 },
    { username: "plus-slash", base: "+/+/==?>?>", padding: 1 },
    { username: "unicode", base: "ünïcødé €uro 🙂 — 中文", padding: 2 },
    { username: "backslash", base: `\\"'\n\t:colon:`, padding: 1 },
    { username: "equals", base: "=", padding: 2 },
  ] as const;
  const filler = ["?", ">", "~", "ÿ", "ö", "€", "=", "+", "/", "'", '"'];
  let own: TestRegistry;
  const users = new Map<string, Login>();

  function* suffixes(): Generator<string> {
    let level = [""];
    yield "";
    for (let length = 1; length <= 4; length++) {
      level = level.flatMap((prefix) => filler.map((char) => `${prefix}${char}`));
      yield* level;
    }
  }

  function craft(username: string, base: string, padding: number, host: string): string {
    for (const suffix of suffixes()) {
      const password = `${base}${suffix}`;
      const standard = Buffer.from(
        JSON.stringify({ username, password, serveraddress: host }),
      ).toString("base64");
      const pad = standard.length - standard.replace(/=+$/, "").length;
      if (standard.includes("+") && standard.includes("/") && pad === padding) return password;
    }
    throw new Error(`no filler gives ${username} what the test needs`);
  }

  beforeAll(async () => {
    own = await startRegistry((host) =>
      bases.map(({ username, base, padding }) => {
        const login = { username, password: craft(username, base, padding, host) };
        users.set(username, login);
        return login;
      }),
    );
  });

  afterAll(async () => {
    await own?.stop();
  });

  it.each(bases.map(({ username, padding }) => [username, padding] as const))(
    "pushes and builds FROM with the password of %s (standard base64 has + and / and %i padding)",
    async (username, padding) => {
      const user = users.get(username);
      if (!user) throw new Error(`no user ${username}`);
      const config = await dockerConfig({
        auths: { [own.host]: { auth: basicAuth(user.username, user.password) } },
      });
      const env = envWith(config);
      const reference = await localTag(own.host, `pdu-sym/${user.username}`);
      const header = await registryAuthHeader(reference, { env });
      const json = JSON.stringify({ ...user, serveraddress: own.host });
      expect(Buffer.from(header, "base64url").toString("utf8")).toBe(json);
      const standard = Buffer.from(json).toString("base64");
      expect(standard).toMatch(/\+.*\/|\/.*\+/);
      expect(standard.length - standard.replace(/=+$/, "").length).toBe(padding);
      const pushed = await pushWith(docker, reference, header);
      forgetPushed(own.host, reference, pushed.id, user);
      expect(pushed.error).toBeUndefined();
      await dropLocal(reference);
      const built = await buildWith(docker, `FROM ${reference}\nLABEL user=${user.username}\n`, {
        registryConfig: await registryConfigHeader({ env }),
        labels: labels(),
      });
      expect(built.error).toBeUndefined();
      expect(built.output).toContain(`Pulling from pdu-sym/${user.username}`);
    },
  );

  it("is refused with another user's password", async () => {
    const [first, second] = [users.get("quote"), users.get("unicode")];
    if (!first || !second) throw new Error("need two users");
    const config = await dockerConfig({
      auths: { [own.host]: { auth: basicAuth(first.username, second.password) } },
    });
    const reference = await localTag(own.host, "pdu-sym/refused");
    const pushed = await pushWith(
      docker,
      reference,
      await registryAuthHeader(reference, { env: envWith(config) }),
    );
    expect(pushed.error).toBe("unauthorized: authentication required");
  });
});
