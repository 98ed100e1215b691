/**
 * Node's module compile cache for the command line (Node 22.1 and later; a no-op on Node 20).
 * @module
 */
import module from "node:module";
import os from "node:os";
import path from "node:path";

/** Set to a non-empty value to keep the command line from using Node's compile cache. */
export const NO_COMPILE_CACHE_ENV = "PREFECT_DOCKERUTILS_NO_COMPILE_CACHE";

/** What the cache folder depends on. */
export interface CacheHome {
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  readonly home: string | undefined;
}

/**
 * The user's cache folder: `XDG_CACHE_HOME` when absolute (as the XDG spec requires), else the
 * platform's; `undefined` when none can be found.
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
 * Where the command line keeps Node's compile cache; `undefined` when switched off (by
 * {@link NO_COMPILE_CACHE_ENV} or `NODE_DISABLE_COMPILE_CACHE`) or there is no cache folder.
 */
export function compileCacheFolder(where: CacheHome): string | undefined {
  if ((where.env[NO_COMPILE_CACHE_ENV] ?? "") !== "") return undefined;
  if ((where.env.NODE_DISABLE_COMPILE_CACHE ?? "") !== "") return undefined;
  const cache = userCacheFolder(where);
  return cache === undefined ? undefined : path.join(cache, "prefect-dockerutils", "compile-cache");
}

/** Node 20 (and its types) lack `module.enableCompileCache`. */
type EnableCompileCache = (directory?: string) => unknown;

/** Enables Node's compile cache in {@link compileCacheFolder}; it never makes the CLI fail. */
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
    // Node answers a folder it cannot use with a FAILED status, not an exception.
    enable(folder);
  } catch {
    // Runs on without the cache.
  }
}
