import { describe, expect, it } from "vitest";
import { buildImage, buildMultiPlatformImage, InvalidArgumentError } from "../../src/index.js";

// Every check happens before any I/O: the engine named here does not exist, so a call that got as
// far as the engine would fail with EngineUnreachableError instead.
const env = { DOCKER_HOST: "unix:///nonexistent/docker.sock", HOME: "/nonexistent" };

describe("buildMultiPlatformImage's checks, before any I/O", () => {
  it.each([
    ["a reference with a digest", `127.0.0.1:5555/a@sha256:${"0".repeat(64)}`, {}, "has a digest"],
    ["a reference that is not one", "127.0.0.1:5555/A:1", {}, "must be lower-case"],
    ["no reference", "", {}, "reference must be the image to push"],
    ["a tag option", "r.example.com/a:1", { tag: "x" }, "takes no tag option"],
    [
      "a platform option",
      "r.example.com/a:1",
      { platform: "linux/amd64" },
      "takes no platform option",
    ],
    ["no platforms", "r.example.com/a:1", { platforms: [] }, "platforms must be a list"],
    [
      "a bad platform",
      "r.example.com/a:1",
      { platforms: ["linux/amd64", "arm64"] },
      "platforms[1]",
    ],
    ["a platform twice", "r.example.com/a:1", { platforms: "linux/arm64,linux/aarch64" }, "twice"],
    [
      "a bad additional tag",
      "r.example.com/a:1",
      { additionalTags: ["-x"] },
      "additionalTags entries must be tags",
    ],
    [
      "additional tags not in a list",
      "r.example.com/a:1",
      { additionalTags: "latest" },
      "additionalTags must be a list",
    ],
    ["a bad build option", "r.example.com/a:1", { retries: -1 }, "retries"],
    ["a memory limit under the engine's minimum", "r.example.com/a:1", { memory: 1 }, "memory"],
  ])("refuses %s", async (_name, reference, options, message) => {
    const error = await buildMultiPlatformImage("/nonexistent", reference as string, {
      platforms: ["linux/amd64", "linux/arm64"],
      env,
      ...(options as object),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(message);
  });

  it("refuses a context that does not exist, before reaching the engine", async () => {
    await expect(
      buildMultiPlatformImage("/nonexistent/context", "r.example.com/a:1", {
        platforms: ["linux/amd64"],
        env,
      }),
    ).rejects.toThrow("Context path /nonexistent/context does not exist");
  });
});

describe("buildImage with several platforms", () => {
  it("points at buildMultiPlatformImage, on both builders", async () => {
    for (const builder of ["classic", "buildkit"] as const) {
      const error = await buildImage("/nonexistent", {
        builder,
        platform: "linux/amd64,linux/arm64",
        env,
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain("buildMultiPlatformImage");
      expect((error as Error).message).toContain("build each platform separately");
    }
  });
});
