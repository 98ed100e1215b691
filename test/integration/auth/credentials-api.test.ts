// The public API with credentials, as users call it: pushImage, buildImage and ImageBuilder
// against the htpasswd registry of scripts/test-services.sh.
import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BuildError,
  buildImage,
  CredentialsError,
  ImageBuilder,
  type ProgressEvent,
  PushError,
  pushImage,
  pushImageDetailed,
} from "../../../src/index.js";
import { authRegistry, type Login, registryDigest } from "../../support/credentials/engine-ops.js";
import {
  basicAuth,
  dockerConfig,
  envWith,
  installScriptHelper,
  tempDir,
} from "../../support/credentials/support.js";
import { docker, removeOwnImage, runImage, testRepository } from "../support.js";

let registry: Login & { host: string };
let image: string;
const keepRepo = "localhost/pdu-cred-api";
const keepTag = randomUUID();

beforeAll(async () => {
  registry = await authRegistry();
  await using builder = await new ImageBuilder("busybox").open();
  builder.addLine(`LABEL io.prefect-dockerutils.cred-api ${randomUUID()}`);
  builder.addLine('ENTRYPOINT [ "echo", "private hello" ]');
  image = await builder.build();
  // A tag of our own keeps the image when pushImage removes its registry tag.
  await docker.getImage(image).tag({ repo: keepRepo, tag: keepTag });
});

afterAll(async () => {
  await removeOwnImage(`${keepRepo}:${keepTag}`);
});

async function configWithLogin(password = registry.password) {
  return envWith(
    await dockerConfig({
      auths: { [registry.host]: { auth: basicAuth(registry.username, password) } },
    }),
  );
}

describe("pushImage with credentials", () => {
  it("pushes with the login of DOCKER_CONFIG", async () => {
    const repository = testRepository("cred-api");
    const result = await pushImageDetailed(image, `http://${registry.host}`, repository, {
      tag: "1",
      env: await configWithLogin(),
    });
    expect(result.reference).toBe(`${registry.host}/${repository}:1`);
    expect(await registryDigest(registry.host, repository, "1", registry)).toBe(result.digest);
  });

  it("pushes with credentials given in code, over a wrong login in the config", async () => {
    const repository = testRepository("cred-api");
    const result = await pushImageDetailed(image, `http://${registry.host}`, repository, {
      tag: "1",
      env: await configWithLogin("wrong"),
      auth: { username: registry.username, password: registry.password },
    });
    expect(await registryDigest(registry.host, repository, "1", registry)).toBe(result.digest);
  });

  it("rejects a wrong password with the registry's text, without retrying or leaving a tag", async () => {
    const repository = testRepository("cred-api-denied");
    const events: ProgressEvent[] = [];
    const error = await pushImage(image, `http://${registry.host}`, repository, {
      tag: "1",
      env: await configWithLogin("wrong"),
      onProgress: (event) => events.push(event),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).message).toMatch(/unauthorized/);
    expect((error as PushError).message).not.toContain("wrong");
    expect(events.filter((e) => e.type === "retry")).toEqual([]);
    await expect(
      docker.getImage(`${registry.host}/${repository}:1`).inspect(),
    ).rejects.toMatchObject({
      statusCode: 404,
    });
  });
});

describe("pushImage's messages about logins and protocols", () => {
  it("names the registry and the config it searched when the engine says no basic auth credentials", async () => {
    const repository = testRepository("cred-api-nologin");
    const config = await dockerConfig({});
    const error = await pushImage(image, `http://${registry.host}`, repository, {
      tag: "1",
      env: envWith(config),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    const message = (error as PushError).message;
    expect(message.startsWith("no basic auth credentials (")).toBe(true);
    expect(message).toContain(`registry ${registry.host}`);
    expect(message).toContain(path.join(config, "config.json"));
    expect(message).toContain(`docker login ${registry.host}`);
  });

  it("says where a refused login came from", async () => {
    const repository = testRepository("cred-api-refused");
    const error = await pushImage(image, `http://${registry.host}`, repository, {
      tag: "1",
      env: await configWithLogin("wrong"),
    }).catch((e: unknown) => e);
    expect((error as PushError).message).toMatch(
      new RegExp(
        `^unauthorized.*\\(registry ${registry.host.replace(/\./g, "\\.")}; login: auths\\["`,
      ),
    );
  });

  it("warns that an https:// URL to a registry the engine treats as insecure may go over plain HTTP", async () => {
    const repository = testRepository("cred-api");
    const result = await pushImageDetailed(image, `https://${registry.host}`, repository, {
      tag: "1",
      env: await configWithLogin(),
    });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain(
      `the engine treats ${registry.host} as an insecure registry`,
    );
    expect(result.warnings[0]).toContain("may not have used TLS");

    const plain = await pushImageDetailed(image, `http://${registry.host}`, repository, {
      tag: "2",
      env: await configWithLogin(),
    });
    expect(plain.warnings).toEqual([]);
  });

  it("rejects within 1 s with the signal's reason when aborted during a helper that never answers", async () => {
    const repository = testRepository("cred-api-hang");
    const pidFile = path.join(await tempDir("pdu-pids-"), "pid");
    const binDir = await installScriptHelper(
      "pdu-api-hang",
      `echo $$ > "${pidFile}.tmp" && mv "${pidFile}.tmp" "${pidFile}"\nsleep 1000 &\nwait`,
    );
    const env = envWith(
      await dockerConfig({ credHelpers: { [registry.host]: "pdu-api-hang" } }),
      binDir,
    );
    const controller = new AbortController();
    const reason = new Error("cancelled by the test");
    const push = pushImage(image, `http://${registry.host}`, repository, {
      tag: "1",
      env,
      signal: controller.signal,
    }).catch((e: unknown) => ({ error: e, at: performance.now() }));
    // Abort only once the push is inside the helper.
    let pid: number | undefined;
    for (let i = 0; i < 400 && pid === undefined; i++) {
      const text = await readFile(pidFile, "utf8").catch(() => "");
      if (text.trim()) pid = Number(text);
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(pid).toBeDefined();
    const abortedAt = performance.now();
    controller.abort(reason);
    const outcome = (await push) as { error: unknown; at: number };
    expect(outcome.error).toBe(reason);
    expect(outcome.at - abortedAt).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const state = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    expect(state === "" || / Z /.test(state.slice(state.lastIndexOf(")")))).toBe(true);
  });

  it("fails with a CredentialsError after credentialHelperTimeoutMs", async () => {
    const binDir = await installScriptHelper("pdu-api-slow", "sleep 1000 & wait");
    const repository = testRepository("cred-api-slow");
    const env = envWith(
      await dockerConfig({ credHelpers: { [registry.host]: "pdu-api-slow" } }),
      binDir,
    );
    const error = await pushImage(image, `http://${registry.host}`, repository, {
      tag: "1",
      env,
      credentialHelperTimeoutMs: 500,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toContain("docker-credential-pdu-api-slow");
    expect((error as Error).message).toContain("500 ms");
  });
});

describe("buildImage with a credential helper that never answers", () => {
  it("fails with a CredentialsError after credentialHelperTimeoutMs", async () => {
    const binDir = await installScriptHelper("pdu-build-slow", "sleep 1000 & wait");
    const env = envWith(await dockerConfig({ credsStore: "pdu-build-slow" }), binDir);
    const context = await tempDir("pdu-build-ctx-");
    await writeFile(path.join(context, "Dockerfile"), "FROM busybox:latest\n");
    const error = await buildImage(context, { env, credentialHelperTimeoutMs: 500 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toContain("docker-credential-pdu-build-slow list");
    expect((error as Error).message).toContain("500 ms");
  });

  it("rejects with the signal's reason when aborted", async () => {
    const binDir = await installScriptHelper("pdu-build-hang", "sleep 1000 & wait");
    const env = envWith(await dockerConfig({ credsStore: "pdu-build-hang" }), binDir);
    const context = await tempDir("pdu-build-ctx-");
    await writeFile(path.join(context, "Dockerfile"), "FROM busybox:latest\n");
    const reason = new Error("cancelled by the test");
    const controller = new AbortController();
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort(reason);
    }, 1500);
    const outcome = await buildImage(context, { env, signal: controller.signal }).then(
      () => ({ error: undefined, at: performance.now() }),
      (error: unknown) => ({ error, at: performance.now() }),
    );
    expect(outcome.error).toBe(reason);
    // Within 1 s of the abort, long before the 30 s default timeout. Measured from the abort
    // itself: the timer that fires it may run late on a loaded machine.
    expect(outcome.at - abortedAt).toBeLessThan(1000);
  });
});

describe("building FROM a private image", () => {
  let base: string;
  const repository = testRepository("cred-api-base", "file");
  beforeAll(async () => {
    const result = await pushImageDetailed(image, `http://${registry.host}`, repository, {
      tag: "base",
      auth: { username: registry.username, password: registry.password },
    });
    base = result.reference;
  });
  // The builds pull the base image: leave no copy of it on the engine.
  afterAll(() => removeOwnImage(base));

  it("pulls the base image with the login of DOCKER_CONFIG", async () => {
    await using builder = await new ImageBuilder(base, {
      baseDirectory: path.resolve("test/fixtures/contexts/tiny"),
    }).open();
    builder.copy("hello.txt", "/hello.txt");
    const built = await builder.build({ pull: true, env: await configWithLogin() });
    expect((await runImage(built)).trim()).toBe("private hello");
  });

  it("pulls the base image with credentials given in code for that registry", async () => {
    await using builder = await new ImageBuilder(base).open();
    builder.addLine(`LABEL io.prefect-dockerutils.cred-api-build ${randomUUID()}`);
    const built = await builder.build({
      pull: true,
      env: envWith(await dockerConfig({})),
      auth: { [registry.host]: { username: registry.username, password: registry.password } },
    });
    expect((await runImage(built)).trim()).toBe("private hello");
  });

  it("rejects with BuildError when the registry refuses the pull", async () => {
    await using builder = await new ImageBuilder(base).open();
    const error = await builder
      .build({ pull: true, env: await configWithLogin("wrong") })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).message).toMatch(/unauthorized|no basic auth credentials/);
  });
});
