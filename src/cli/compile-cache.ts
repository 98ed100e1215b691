/**
 * Node's module compile cache for the command line (Node 22.1 and later): the second and later
 * starts read the compiled code of the library, commander and the rest from disk instead of
 * compiling it again. A no-op on Node 20, which has no `module.enableCompileCache`.
 * @module
 */
import module from "node:module";
import os from "node:os";
import path from "node:path";

/** Set to a non-empty value to keep the command line from using Node's compile cache. */
export const NO_COMPILE_CACHE_ENV = "PREFECT_DOCKERUTILS_NO_COMPILE_CACHE";

/** The parts of the environment and platform the cache folder depends on. */
export interface CacheHome {
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  /** The user's home folder; `undefined` when it cannot be known. */
  readonly home: string | undefined;
}

/**
 * The user's cache folder, as the platform defines it: `XDG_CACHE_HOME` (when absolute, as the
 * XDG spec requires), else `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows, `~/.cache`
 * elsewhere; `undefined` when none can be found.
 */
export function userCacheFolder({ env, platform, home }: CacheHome): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && path.isAbsolute(xdg)) return xdg;
  if (platform === "win32") {
    const local = env.LOCALAPPDATA;
    if (local !== undefined && path.win32.isAbsolute(local)) return local;
    return home === undefined ? undefined : path.win32.join(home, "AppData", "Local");
  }
  if (home === undefined || !path.isAbsolute(home)) return undefined;
  return platform === "darwin" ? path.join(home, "Library", "Caches") : path.join(home, ".cache");
}

/**
 * Where the command line keeps Node's compile cache (Node adds a folder per Node version in it),
 * or `undefined` when it is switched off (`PREFECT_DOCKERUTILS_NO_COMPILE_CACHE` or Node's own
 * `NODE_DISABLE_COMPILE_CACHE` set to a non-empty value) or no cache folder can be found.
 */
export function compileCacheFolder(where: CacheHome): string | undefined {
  if ((where.env[NO_COMPILE_CACHE_ENV] ?? "") !== "") return undefined;
  if ((where.env.NODE_DISABLE_COMPILE_CACHE ?? "") !== "") return undefined;
  const cache = userCacheFolder(where);
  return cache === undefined ? undefined : path.join(cache, "prefect-dockerutils", "compile-cache");
}

/** `module.enableCompileCache`, which Node 20's types (and Node 20) do not have. */
type EnableCompileCache = (directory?: string) => unknown;

/**
 * Enables Node's compile cache for the modules loaded from now on, in
 * {@link compileCacheFolder}. Does nothing on Node 20, when switched off, or when Node cannot
 * use the folder: a cache is never a reason for the command line to fail.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const enable = (module as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  if (typeof enable !== "function") return;
  let home: string | undefined;
  try {
    home = os.homedir();
  } catch {
    home = undefined;
  }
  const folder = compileCacheFolder({ env, platform: process.platform, home: home || undefined });
  if (folder === undefined) return;
  try {
    // Node answers a folder it cannot use with a FAILED status, not an exception; either way,
    // the command line runs on without the cache.
    enable(folder);
  } catch {
    // As above.
  }
}
