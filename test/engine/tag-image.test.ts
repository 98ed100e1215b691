// tagImage's checks, made before any request (the tagging itself is tested on the real engine, in
// test/integration/engine/ssh.test.ts and cli-package.test.ts).
import { describe, expect, it } from "vitest";
import { tagImage } from "../../src/engine/tag-image.js";
import { EngineUnreachableError, InvalidArgumentError } from "../../src/errors.js";

// An engine that is not there: a check that passed would reach it and fail as unreachable.
const env = { DOCKER_HOST: "unix:///tmp/pdu-tag-image-none.sock" };

describe("tagImage", () => {
  it.each([
    [
      "busybox",
      "team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      /no digest/,
    ],
    ["busybox", "Team/App:1", /image name/],
    ["busybox", "team/app:bad tag", /image name/],
    ["../../containers/prune?", "team/app:1", /image ID .* or an image reference/],
  ])("refuses tagging %j as %j before any request", async (image, reference, message) => {
    const error = await tagImage(image, reference, { env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(message);
  });

  it("refuses options that cannot work", async () => {
    await expect(tagImage("busybox", "x", { signal: "soon" as never, env })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(tagImage("busybox", "x", { docker: "local" as never })).rejects.toThrow(
      InvalidArgumentError,
    );
  });

  it("reaches the engine for a good name, defaulting the tag to latest", async () => {
    await expect(tagImage("busybox", "team/app", { env })).rejects.toBeInstanceOf(
      EngineUnreachableError,
    );
  });
});
