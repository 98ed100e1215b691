// A refused push says the same things, the same way, from every entry point (issue 17, item 15):
// pushImage, DockerImage.push() and the push_docker_image step, against the htpasswd registry
// with a wrong and with a missing login. One helper makes the message; `authFailure` tells a
// refused login from other failures, and `statusCode` is the registry's status.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { buildImage, DockerImage, PushError, pushImage } from "../../../src/index.js";
import { clearStepCache, pushDockerImage } from "../../../src/steps.js";
import { authRegistry, type Login } from "../../support/credentials/engine-ops.js";
import { basicAuth, dockerConfig, envWith } from "../../support/credentials/support.js";
import { docker, removeOwnImage, testRepository } from "../support.js";

let login: Login & { host: string };
let image: string;
const keep = `localhost/pdu-push-errors:${randomUUID()}`;

beforeAll(async () => {
  login = await authRegistry();
  const dir = await mkdtemp(path.join(tmpdir(), "pdu-push-errors-"));
  try {
    await writeFile(
      path.join(dir, "Dockerfile"),
      `FROM busybox:latest\nLABEL bust=${randomUUID()}\n`,
    );
    // A tag of the file's own keeps the image whatever the pushes do with theirs.
    image = await buildImage(dir, { tag: keep });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

afterAll(async () => {
  clearStepCache();
  await removeOwnImage(keep);
});

type Case = "wrong" | "missing";

/** An environment whose Docker configuration has a wrong login for the registry, or none. */
async function envFor(kind: Case): Promise<{ env: NodeJS.ProcessEnv; config: string }> {
  const config = await dockerConfig(
    kind === "wrong"
      ? { auths: { [login.host]: { auth: basicAuth(login.username, "not-the-password") } } }
      : {},
  );
  return { env: envWith(config), config: path.join(config, "config.json") };
}

/** Tags `image` as `host/repository:tag` for the pushes that push an existing name. */
async function tagged(host: string): Promise<{ name: string; tag: string }> {
  const name = `${host}/${testRepository("push-errors")}`;
  await docker.getImage(image).tag({ repo: name, tag: "1" });
  const reference = `${name}:1`;
  // Removed by the test, whatever happens to the push.
  onTestFinished(() => removeOwnImage(reference));
  return { name, tag: "1" };
}

/** The three entry points, each pushing to `host` with the given environment. */
/** A wrong login given in code, as each entry point takes one. */
const WRONG = () => ({ username: login.username, password: "not-the-password-either" });

const ENTRY_POINTS: Record<
  string,
  {
    readonly fix: string;
    /** How the message names a login given in code. */
    readonly inCode: string;
    push(host: string, env: NodeJS.ProcessEnv, inCode?: boolean): Promise<unknown>;
  }
> = {
  pushImage: {
    fix: "pass options.auth",
    inCode: "options.auth",
    push: (host, env, inCode) =>
      pushImage(image, `http://${host}`, testRepository("push-errors"), {
        tag: "1",
        env,
        retries: 0,
        ...(inCode ? { auth: WRONG() } : {}),
      }),
  },
  "DockerImage.push()": {
    fix: "pass auth to DockerImage",
    inCode: "DockerImage's auth for 127.0.0.1:5556",
    push: async (host, env, inCode) => {
      const { name, tag } = await tagged(host);
      return new DockerImage(name, {
        tag,
        env,
        streamProgressTo: null,
        retries: 0,
        ...(inCode ? { auth: { [host]: WRONG() } } : {}),
      }).push();
    },
  },
  push_docker_image: {
    fix: "pass credentials",
    inCode: "the step's credentials for 127.0.0.1:5556",
    push: async (host, env, inCode) => {
      const { name, tag } = await tagged(host);
      return pushDockerImage(
        {
          image_name: name,
          tag,
          ignore_cache: true,
          ...(inCode ? { credentials: { ...WRONG(), registry_url: host } } : {}),
        },
        { env, streamProgressTo: null, retries: 0 },
      );
    },
  },
};

const ENGINE_TEXT: Record<Case, string> = {
  wrong: "unauthorized: authentication required",
  missing: "no basic auth credentials",
};

describe.each(Object.keys(ENTRY_POINTS))("a push refused by the registry, through %s", (entry) => {
  const { fix, inCode, push } = ENTRY_POINTS[entry] as (typeof ENTRY_POINTS)[string];

  it.each(["wrong", "missing"] as const)(
    "with a %s login says where the login came from and how to fix it, with authFailure and 401",
    async (kind) => {
      const { env, config } = await envFor(kind);
      const error = await push(login.host, env).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PushError);
      const failure = error as PushError;
      expect(failure.authFailure).toBe(true);
      expect(failure.statusCode).toBe(401);
      const where =
        kind === "wrong"
          ? `auths["${login.host}"] in ${config}`
          : `no login for ${login.host} in auths in ${config}`;
      expect(failure.message).toBe(
        `${ENGINE_TEXT[kind]} (registry ${login.host}; login: ${where}. Log in with \`docker login ${login.host}\` or ${fix})`,
      );
      expect(failure.message).not.toContain("not-the-password");
    },
  );

  it("with a wrong login given in code names that login", async () => {
    const { env } = await envFor("missing");
    const error = await push(login.host, env, true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect(error).toMatchObject({ authFailure: true, statusCode: 401 });
    expect((error as PushError).message).toBe(
      `${ENGINE_TEXT.wrong} (registry ${login.host}; login: ${inCode}. Log in with \`docker login ${login.host}\` or ${fix})`,
    );
    expect((error as PushError).message).not.toContain("not-the-password-either");
  });

  it("that cannot reach the registry is no refused login", async () => {
    const error = await push("127.0.0.1:1", process.env).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).authFailure).toBe(false);
    expect((error as PushError).message).toContain("connection refused");
  });
});
