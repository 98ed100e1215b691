import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import { formatPlatform, parsePlatform, parsePlatformList } from "../../src/registry/platform.js";

describe("parsePlatform", () => {
  it.each([
    ["linux/amd64", "linux/amd64"],
    ["linux/arm64", "linux/arm64"],
    ["LINUX/ARM64", "linux/arm64"],
    ["linux/aarch64", "linux/arm64"],
    ["linux/arm64/v8", "linux/arm64"],
    ["linux/x86_64", "linux/amd64"],
    ["linux/x86-64", "linux/amd64"],
    ["linux/amd64/v1", "linux/amd64"],
    ["linux/amd64/v3", "linux/amd64/v3"],
    ["linux/arm", "linux/arm/v7"],
    ["linux/arm/6", "linux/arm/v6"],
    ["linux/armhf", "linux/arm/v7"],
    ["linux/armel", "linux/arm/v6"],
    ["linux/i386", "linux/386"],
    ["linux/s390x", "linux/s390x"],
    ["windows/amd64", "windows/amd64"],
    ["macos/arm64", "darwin/arm64"],
  ])("normalises %s to %s, as containerd does", (given, expected) => {
    expect(formatPlatform(parsePlatform(given))).toBe(expected);
  });

  it("gives the index's fields", () => {
    expect(parsePlatform("linux/arm/v7")).toEqual({
      os: "linux",
      architecture: "arm",
      variant: "v7",
    });
    expect(parsePlatform("linux/amd64")).toEqual({
      os: "linux",
      architecture: "amd64",
      variant: undefined,
    });
  });

  it.each([
    "amd64",
    "linux/",
    "/amd64",
    "linux/amd64/v8/x",
    "linux/amd 64",
    "linux/amd\n64",
    "../etc",
    "",
    "linux/ämd64",
  ])("refuses %j, naming it and the form to use", (bad) => {
    expect(() => parsePlatform(bad, "platforms[0]")).toThrow(InvalidArgumentError);
    try {
      parsePlatform(bad, "platforms[0]");
    } catch (error) {
      expect((error as Error).message).toMatch(/^platforms\[0\]/);
      expect((error as Error).message).toContain('"linux/amd64"');
    }
  });

  it("refuses what is not a string", () => {
    expect(() => parsePlatform(42)).toThrow("platform must be a platform string");
  });
});

describe("parsePlatformList", () => {
  it("takes a list or a comma-separated string", () => {
    expect(parsePlatformList(["linux/amd64", "linux/arm64"]).map(formatPlatform)).toEqual([
      "linux/amd64",
      "linux/arm64",
    ]);
    expect(parsePlatformList("linux/amd64, linux/arm/v7").map(formatPlatform)).toEqual([
      "linux/amd64",
      "linux/arm/v7",
    ]);
  });

  it("refuses a platform named twice, also under another spelling", () => {
    expect(() => parsePlatformList(["linux/arm64", "linux/aarch64"])).toThrow(
      'platforms names linux/arm64 twice ("linux/arm64" and "linux/aarch64")',
    );
  });

  it("refuses an empty list, a list too long, and a bad entry by its index", () => {
    expect(() => parsePlatformList([])).toThrow("platforms must be a list of platforms");
    expect(() => parsePlatformList(undefined)).toThrow("platforms must be a list of platforms");
    const many = Array.from({ length: 17 }, (_, i) => `linux/arch${i}`);
    expect(() => parsePlatformList(many)).toThrow("at most 16");
    expect(() => parsePlatformList(["linux/amd64", "nope"])).toThrow("platforms[1]");
  });
});
