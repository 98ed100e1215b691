/**
 * Logging through the `debug` package (`DEBUG=prefect-dockerutils:*`), loaded only when someone
 * may be listening: when `DEBUG` is set, or when the process has already loaded this same `debug`
 * (whose `enable()` can then turn our namespaces on). Loading it costs 10–20 ms of start-up, with
 * `ms` and `supports-color`, which a short script or a command line pays on every run for logs
 * nobody reads. It is loaded with `require`: importing a CommonJS package from ES modules makes
 * Node start its CommonJS export lexer, which alone costs about 5 MiB.
 * @module
 */
import { createRequire } from "node:module";
import type Debug from "debug";

/** A namespaced logger: `debug`'s format string and arguments. */
export type DebugLogger = (formatter: unknown, ...args: unknown[]) => void;

const require = createRequire(import.meta.url);
let factory: typeof Debug | undefined;
let modulePath: string | undefined;

/** `debug`'s factory, when it is worth loading (see the module doc); otherwise `undefined`. */
function loadDebug(): typeof Debug | undefined {
  if (factory !== undefined) return factory;
  modulePath ??= require.resolve("debug");
  if (!process.env.DEBUG && require.cache[modulePath] === undefined) return undefined;
  factory = require("debug") as typeof Debug;
  return factory;
}

/**
 * A logger for `namespace` (e.g. `"prefect-dockerutils:engine"`). Each call checks again whether
 * `debug` should be loaded, so `DEBUG` set after the import still takes effect; once loaded,
 * `debug` decides what is printed.
 */
export function createDebug(namespace: string): DebugLogger {
  let logger: Debug.Debugger | undefined;
  return (formatter, ...args) => {
    if (logger === undefined) {
      const debug = loadDebug();
      if (debug === undefined) return;
      logger = debug(namespace);
    }
    logger(formatter, ...args);
  };
}
