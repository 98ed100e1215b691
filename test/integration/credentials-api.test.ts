// The public API with credentials, as users call it: pushImage, buildImage and ImageBuilder
// against the htpasswd registry of scripts/test-services.sh.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BuildError,
  ImageBuilder,
  type ProgressEvent,
  PushError,
  pushImage,
  pushImageDetailed,
} from "../../src/index.js";
import {
  authRegistry,
  deleteManifest,
  type Login,
  registryDigest,
} from "../support/credentials/engine-ops.js";
import { basicAuth, dockerConfig, envWith } from "../support/credentials/support.js";
import { docker, runImage } from "./support.js";

let registry: Login & { host: string };
let image: string;
const keepRepo = "localhost/pdu-cred-api";
const keepTag = randomUUID();
const pushed: { repository: string; digest: string }[] = [];

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
  for (const { repository, digest } of pushed) {
    await deleteManifest(registry.host, repository, digest, registry);
  }
  await docker.getImage(`${keepRepo}:${keepTag}`).remove({ noprune: true });
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
    const repository = `pdu-cred-api/${randomUUID()}`;
    const result = await pushImageDetailed(image, `http://${registry.host}`, repository, {
      tag: "1",
      env: await configWithLogin(),
    });
    pushed.push({ repository, digest: result.digest });
    expect(result.reference).toBe(`${registry.host}/${repository}:1`);
    expect(await registryDigest(registry.host, repository, "1", registry)).toBe(result.digest);
  });

  it("pushes with credentials given in code, over a wrong login in the config", async () => {
    const repository = `pdu-cred-api/${randomUUID()}`;
    const result = await pushImageDetailed(image, `http://${registry.host}`, repository, {
      tag: "1",
      env: await configWithLogin("wrong"),
      auth: { username: registry.username, password: registry.password },
    });
    pushed.push({ repository, digest: result.digest });
    expect(await registryDigest(registry.host, repository, "1", registry)).toBe(result.digest);
  });

  it("rejects a wrong password with the registry's text, without retrying or leaving a tag", async () => {
    const events: ProgressEvent[] = [];
    const error = await pushImage(image, `http://${registry.host}`, "pdu-cred-api/denied", {
      tag: "1",
      env: await configWithLogin("wrong"),
      onProgress: (event) => events.push(event),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).message).toMatch(/unauthorized/);
    expect((error as PushError).message).not.toContain("wrong");
    expect(events.filter((e) => e.type === "retry")).toEqual([]);
    await expect(
      docker.getImage(`${registry.host}/pdu-cred-api/denied:1`).inspect(),
    ).rejects.toMatchObject({
      statusCode: 404,
    });
  });
});

describe("building FROM a private image", () => {
  let base: string;
  beforeAll(async () => {
    const repository = `pdu-cred-api-base/${randomUUID()}`;
    const result = await pushImageDetailed(image, `http://${registry.host}`, repository, {
      tag: "base",
      auth: { username: registry.username, password: registry.password },
    });
    pushed.push({ repository, digest: result.digest });
    base = result.reference;
  });
  // The builds pull the base image: leave no copy of it on the engine.
  afterAll(() =>
    docker
      .getImage(base)
      .remove({ noprune: true })
      .catch(() => undefined),
  );

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
