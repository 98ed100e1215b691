// Where the command line keeps Node's compile cache, and when it keeps none.
import { describe, expect, it } from "vitest";
import {
  compileCacheFolder,
  NO_COMPILE_CACHE_ENV,
  userCacheFolder,
} from "../../src/cli/compile-cache.js";

describe("userCacheFolder", () => {
  it.each([
    [{ XDG_CACHE_HOME: "/xdg" }, "linux", "/home/me", "/xdg"],
    [{ XDG_CACHE_HOME: "relative/cache" }, "linux", "/home/me", "/home/me/.cache"],
    [{ XDG_CACHE_HOME: "" }, "linux", "/home/me", "/home/me/.cache"],
    [{}, "linux", "/home/me", "/home/me/.cache"],
    [{}, "darwin", "/Users/me", "/Users/me/Library/Caches"],
    [{ XDG_CACHE_HOME: "/xdg" }, "darwin", "/Users/me", "/xdg"],
    [
      { LOCALAPPDATA: "C:\\Users\\me\\AppData\\Local" },
      "win32",
      "C:\\Users\\me",
      "C:\\Users\\me\\AppData\\Local",
    ],
    [{}, "win32", "C:\\Users\\me", "C:\\Users\\me\\AppData\\Local"],
    [{}, "linux", undefined, undefined],
    [{}, "linux", "relative-home", undefined],
  ] as const)(
    "is the platform's: %j on %s with home %s gives %s",
    (env, platform, home, expected) => {
      expect(userCacheFolder({ env, platform, home })).toBe(expected);
    },
  );
});

describe("compileCacheFolder", () => {
  const where = { platform: "linux", home: "/home/me" } as const;

  it("is a folder of ours in the user's cache folder", () => {
    expect(compileCacheFolder({ ...where, env: {} })).toBe(
      "/home/me/.cache/prefect-dockerutils/compile-cache",
    );
  });

  it.each([
    [NO_COMPILE_CACHE_ENV, "1"],
    [NO_COMPILE_CACHE_ENV, "true"],
    ["NODE_DISABLE_COMPILE_CACHE", "1"],
  ])("is none with %s=%s", (name, value) => {
    expect(compileCacheFolder({ ...where, env: { [name]: value } })).toBeUndefined();
  });

  it("is kept when the switches are set but empty", () => {
    expect(
      compileCacheFolder({
        ...where,
        env: { [NO_COMPILE_CACHE_ENV]: "", NODE_DISABLE_COMPILE_CACHE: "" },
      }),
    ).toBe("/home/me/.cache/prefect-dockerutils/compile-cache");
  });
});
