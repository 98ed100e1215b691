// What a BuildKit build reaches through the session this library serves, on the real engine:
// secrets, a real ssh-agent, and a private base image pulled with per-host credentials.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildError, buildImage } from "../../../src/index.js";
import { authRegistry } from "../../support/credentials/engine-ops.js";
import {
  type Agent,
  addSshAdd,
  agentKeys,
  bust,
  contextWith,
  HOW_TO_FIX,
  PRIVATE_BASE,
  recorder,
  startAgent,
  untagPrivateBase,
} from "../buildkit-helpers.js";
import { docker, runImage } from "../support.js";

const buildkit = { builder: "buildkit", networkMode: "none" } as const;

describe("secrets", () => {
  it("are readable in RUN, and absent from the image and its history", async () => {
    const secret = `s3cret-${bust()}`;
    const dir = await contextWith({
      Dockerfile:
        "FROM busybox:latest\nARG BUST\nRUN --mount=type=secret,id=token,required cat /run/secrets/token | sha256sum > /seen\n",
    });
    const imageId = await buildImage(dir, {
      ...buildkit,
      buildArgs: { BUST: bust() },
      secrets: { token: { value: secret } },
    });
    const { createHash } = await import("node:crypto");
    const digest = createHash("sha256").update(secret).digest("hex");
    expect((await runImage(imageId, ["cat", "/seen"])).startsWith(digest)).toBe(true);
    expect(await runImage(imageId, ["ls", "-A", "/run/secrets"])).toBe("");
    const history = await docker.getImage(imageId).history();
    expect(JSON.stringify(history)).not.toContain(secret);
    // The whole image as the engine exports it: every layer and the config.
    const saved = await docker.getImage(imageId).get();
    const chunks: Buffer[] = [];
    for await (const chunk of saved) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).includes(Buffer.from(secret))).toBe(false);
  });

  it("come from files and environment variables like docker build --secret", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "pdu-bk-secret-"));
    try {
      await writeFile(path.join(folder, "npmrc"), "from-file");
      const dir = await contextWith({
        Dockerfile:
          "FROM busybox:latest\nARG BUST\nRUN --mount=type=secret,id=npmrc --mount=type=secret,id=token cat /run/secrets/npmrc /run/secrets/token > /dev/null && echo $(cat /run/secrets/npmrc)+$(cat /run/secrets/token)\n",
      });
      const events = recorder();
      await buildImage(dir, {
        ...buildkit,
        buildArgs: { BUST: bust() },
        secrets: { npmrc: { file: path.join(folder, "npmrc") }, token: { env: "PDU_TOKEN" } },
        env: { ...process.env, PDU_TOKEN: "from-env" },
        onProgress: events.onProgress,
      });
      expect(events.output()).toBe("from-file+from-env\n");
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("fail with BuildKit's own message when a required one is missing, without retrying", async () => {
    const dir = await contextWith({
      Dockerfile:
        "FROM busybox:latest\nARG BUST\nRUN --mount=type=secret,id=missing,required true\n",
    });
    const events = recorder();
    const error = await buildImage(dir, {
      ...buildkit,
      buildArgs: { BUST: bust() },
      secrets: { other: { value: "x" } },
      onProgress: events.onProgress,
      retryDelayMs: 10,
    }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).toContain("secret missing not found: not found");
    expect(events.events.some((event) => event.type === "retry")).toBe(false);
  });

  it("reach each of 20 concurrent builds as their own", async () => {
    const dir = await contextWith({
      Dockerfile:
        "FROM busybox:latest\nARG BUST\nRUN --mount=type=secret,id=mine,required echo $(cat /run/secrets/mine)\n",
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const events = recorder();
        await buildImage(dir, {
          ...buildkit,
          buildArgs: { BUST: bust() },
          secrets: { mine: { value: `secret-${index}` } },
          onProgress: events.onProgress,
        });
        return events.output().trim();
      }),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, index) => `secret-${index}`));
  });
});

describe("SSH forwarding", () => {
  let agent: Agent;
  beforeAll(async () => {
    agent = await startAgent();
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it("lets RUN --mount=type=ssh use a real agent's key, read-only", async () => {
    const dir = await contextWith({
      Dockerfile: [
        "FROM busybox:latest",
        "ARG BUST",
        "RUN --mount=type=ssh --mount=type=bind,source=ssh,target=/ssh \\",
        "  echo $BUST > /dev/null && SSHADD='/ssh/lib/ld-linux-x86-64.so.2 --library-path /ssh/lib /ssh/ssh-add' && \\",
        '  $SSHADD -l && ($SSHADD -D || echo "remove refused")',
        "",
      ].join("\n"),
    });
    await addSshAdd(dir);
    const events = recorder();
    await buildImage(dir, {
      ...buildkit,
      buildArgs: { BUST: bust() },
      ssh: { default: true },
      env: { ...process.env, SSH_AUTH_SOCK: agent.socket },
      onProgress: events.onProgress,
    });
    expect(events.output()).toContain(agent.comment);
    expect(events.output()).toContain("remove refused");
    expect(agentKeys(agent)).toContain(agent.comment);
  });

  it("names the missing agent when a RUN asks for an ID that was not given", async () => {
    const dir = await contextWith({
      Dockerfile: "FROM busybox:latest\nARG BUST\nRUN --mount=type=ssh,id=github,required true\n",
    });
    const error = await buildImage(dir, {
      ...buildkit,
      buildArgs: { BUST: bust() },
      ssh: { default: agent.socket },
    }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).toContain("unset ssh forward key github");
  });
});

describe("a private base image", () => {
  let login: { host: string; username: string; password: string };
  beforeAll(async () => {
    login = await authRegistry();
    const manifest = await fetch(`http://${login.host}/v2/pdu-buildkit/private-base/manifests/1`, {
      headers: {
        Authorization: `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`,
        Accept: "application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    if (manifest.status !== 200) {
      throw new Error(`${PRIVATE_BASE} is not on the htpasswd registry. ${HOW_TO_FIX}`);
    }
  });

  const privateContext = () =>
    contextWith({ Dockerfile: `FROM ${PRIVATE_BASE}\nARG BUST\nRUN echo private-$BUST\n` });

  it("is pulled with the session's credentials for its registry", async () => {
    await untagPrivateBase();
    const events = recorder();
    const imageId = await buildImage(await privateContext(), {
      ...buildkit,
      buildArgs: { BUST: bust() },
      auth: { [login.host]: { username: login.username, password: login.password } },
      env: { ...process.env, DOCKER_CONFIG: path.join(tmpdir(), "pdu-bk-no-config") },
      onProgress: events.onProgress,
    });
    expect(events.output()).toMatch(/^private-/);
    expect(await runImage(imageId, ["echo", "ok"])).toBe("ok\n");
  });

  it("is pulled with the Docker configuration's login too", async () => {
    await untagPrivateBase();
    const config = await mkdtemp(path.join(tmpdir(), "pdu-bk-config-"));
    try {
      // What `docker login` writes when no credential helper is configured.
      const auth = Buffer.from(`${login.username}:${login.password}`).toString("base64");
      await writeFile(
        path.join(config, "config.json"),
        JSON.stringify({ auths: { [login.host]: { auth } } }),
      );
      await buildImage(await privateContext(), {
        ...buildkit,
        buildArgs: { BUST: bust() },
        env: { ...process.env, DOCKER_CONFIG: config },
      });
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  });

  it("fails with the registry's 401, not retried, on a wrong password", async () => {
    await untagPrivateBase();
    const events = recorder();
    const error = await buildImage(await privateContext(), {
      ...buildkit,
      buildArgs: { BUST: bust() },
      auth: { [login.host]: { username: login.username, password: "wrong-password" } },
      env: { ...process.env, DOCKER_CONFIG: path.join(tmpdir(), "pdu-bk-no-config") },
      onProgress: events.onProgress,
      retryDelayMs: 10,
    }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).toContain("401 Unauthorized");
    expect((error as BuildError).step).toBe(`[internal] load metadata for ${PRIVATE_BASE}`);
    expect(events.events.some((event) => event.type === "retry")).toBe(false);
  });

  it("never gets another registry's login", async () => {
    await untagPrivateBase();
    const error = await buildImage(await privateContext(), {
      ...buildkit,
      buildArgs: { BUST: bust() },
      // The right login, but for another registry: the engine must get nothing for this one.
      auth: { "127.0.0.1:5555": { username: login.username, password: login.password } },
      env: { ...process.env, DOCKER_CONFIG: path.join(tmpdir(), "pdu-bk-no-config") },
      retries: 0,
    }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as Error).message).toContain("401 Unauthorized");
  });
});
