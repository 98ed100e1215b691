// Values that may be secret never appear in an error (issue 17, item 9): a wrongly shaped secret,
// a build argument that is not a string, a login in a registry URL, an environment or credentials
// given as a string. Each message names the key and the shape to use instead. Every entry point
// checks before any I/O, so no engine is needed.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBuildArgs, parseSecrets } from "../src/cli/build-flags.js";
import {
  buildImage,
  ImageBuilder,
  InvalidArgumentError,
  pushImage,
  resolveRegistryAuth,
} from "../src/index.js";
import { buildDockerImage, pushDockerImage } from "../src/steps.js";

const SECRET = "S3CR3T-4f1c9b";
const NUMBER = 31415926535;

let context: string;
beforeAll(async () => {
  context = await mkdtemp(path.join(tmpdir(), "pdu-secret-msg-"));
});
afterAll(async () => {
  await rm(context, { recursive: true, force: true });
});

/** The error `run` fails with (thrown or rejected). */
async function failure(run: () => unknown): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

/** Every form in which a value could leak into a message. */
const forms = (value: string | number) => {
  const text = String(value);
  return [text, JSON.stringify(text), Buffer.from(text).toString("base64"), text.slice(0, 8)];
};

const cases: [string, () => unknown, string | number, readonly string[]][] = [
  [
    "buildImage with a secret given as a string",
    () => buildImage(context, { builder: "buildkit", secrets: { tok: SECRET as never } }),
    SECRET,
    ['secrets["tok"]', "{ value", "got a string"],
  ],
  [
    "buildImage with a secret value that is a number",
    () =>
      buildImage(context, { builder: "buildkit", secrets: { tok: { value: NUMBER as never } } }),
    NUMBER,
    ['secrets["tok"].value', "a string or a Uint8Array", "got a number"],
  ],
  [
    "buildImage with a secret env holding an assignment",
    () => buildImage(context, { builder: "buildkit", secrets: { tok: { env: `TOK=${SECRET}` } } }),
    SECRET,
    ['secrets["tok"].env', "the name of an environment variable"],
  ],
  [
    "buildImage with secrets given as a string",
    () => buildImage(context, { builder: "buildkit", secrets: SECRET as never }),
    SECRET,
    ["secrets must be an object", "got a string"],
  ],
  [
    "buildImage with a build argument that is a number",
    () => buildImage(context, { buildArgs: { TOKEN: NUMBER as never } }),
    NUMBER,
    ['buildArgs["TOKEN"] must be a string', "got a number"],
  ],
  [
    "buildImage with build arguments given as a string",
    () => buildImage(context, { buildArgs: `TOKEN=${SECRET}` as never }),
    SECRET,
    ["buildArgs must be an object of strings", "got a string"],
  ],
  [
    "buildImage with an environment given as a string",
    () => buildImage(context, { env: `TOKEN=${SECRET}` as never }),
    SECRET,
    ["env must be an environment object", "got a string"],
  ],
  [
    "ImageBuilder.build with a build argument that is a number",
    async () => {
      await using builder = await new ImageBuilder("busybox").open();
      await builder.build({ buildArgs: { TOKEN: NUMBER as never } });
    },
    NUMBER,
    ['buildArgs["TOKEN"]'],
  ],
  [
    "pushImage with a login in a registry URL without scheme",
    () => pushImage("busybox:latest", `alice:${SECRET}@127.0.0.1:5557`, "team/app"),
    SECRET,
    ["holds a user name or password", '"http://127.0.0.1:5557"', "options.auth"],
  ],
  [
    "pushImage with a password holding / in a registry URL",
    () => pushImage("busybox:latest", `https://alice:pa/${SECRET}@127.0.0.1:5557`, "team/app"),
    SECRET,
    ["holds a user name or password", '"https://127.0.0.1:5557"'],
  ],
  [
    "pushImage with a password that is a number",
    () =>
      pushImage("busybox:latest", "http://127.0.0.1:5557", "team/app", {
        auth: { username: "alice", password: NUMBER as never },
      }),
    NUMBER,
    ["auth.password must be a string"],
  ],
  [
    "resolveRegistryAuth with an environment given as a string",
    () => resolveRegistryAuth("ghcr.io", { env: `TOKEN=${SECRET}` as never }),
    SECRET,
    ["env must be an object", "got a string"],
  ],
  [
    "push_docker_image with credentials given as a string",
    () => pushDockerImage({ image_name: "team/app", credentials: SECRET as never }),
    SECRET,
    ["credentials must be a mapping with username, password and registry_url", "got a string"],
  ],
  [
    "build_docker_image with a buildx secret holding its value",
    () =>
      buildDockerImage(
        {
          image_name: "team/app",
          build_backend: "buildx",
          path: context,
          secrets: [`id=tok,value=${SECRET}`],
        } as never,
        { streamProgressTo: null },
      ),
    SECRET,
    ['"id=tok,value=…"', "id=<id>,src=<file>"],
  ],
  [
    "build_docker_image with a buildx secret that is the value alone",
    () =>
      buildDockerImage(
        {
          image_name: "team/app",
          build_backend: "buildx",
          path: context,
          secrets: [SECRET],
        } as never,
        { streamProgressTo: null },
      ),
    SECRET,
    ["secrets entry", "key=value pairs"],
  ],
  [
    "build_docker_image with secrets that are a number",
    () =>
      buildDockerImage(
        {
          image_name: "team/app",
          build_backend: "buildx",
          path: context,
          secrets: NUMBER,
        } as never,
        { streamProgressTo: null },
      ),
    NUMBER,
    ["secrets must be a string or a list", "got a number"],
  ],
  [
    "build_docker_image with a build argument that is a number",
    () =>
      buildDockerImage(
        { image_name: "team/app", path: context, buildargs: { TOKEN: NUMBER } } as never,
        { streamProgressTo: null },
      ),
    NUMBER,
    ['buildargs["TOKEN"] must be a string'],
  ],
  [
    "build_docker_image with an environment given as a string",
    () =>
      buildDockerImage({ image_name: "team/app", path: context } as never, {
        env: `TOKEN=${SECRET}` as never,
      }),
    SECRET,
    ["env must be an object", "got a string"],
  ],
  [
    "the command line's --secret holding its value",
    () => parseSecrets([`id=tok,value=${SECRET}`], "/"),
    SECRET,
    ['--secret "id=tok"', 'unknown key "value"'],
  ],
  [
    "the command line's --secret that is the value alone",
    () => parseSecrets([SECRET], "/"),
    SECRET,
    ["--secret", "KEY=VALUE"],
  ],
  [
    "the command line's --build-arg with a bad key",
    () => parseBuildArgs([`MY TOKEN=${SECRET}`], {}),
    SECRET,
    ['--build-arg "MY TOKEN=…"', "KEY=VALUE"],
  ],
];

describe("an error about a value that may be secret", () => {
  it.each(cases)(
    "%s names the key and shape, never the value",
    async (_name, run, secret, says) => {
      const error = await failure(run);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      for (const form of forms(secret)) {
        expect(error.message, `the message shows ${JSON.stringify(form)}`).not.toContain(form);
      }
      for (const text of says) expect(error.message).toContain(text);
    },
  );
});
