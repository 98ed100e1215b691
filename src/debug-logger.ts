/**
 * Logging through `debug` (`DEBUG=prefect-dockerutils:*`), loaded only when someone may listen:
 * `DEBUG` is set, or the process already loaded this `debug` (whose `enable()` can turn us on).
 * Loading it costs 10–20 ms of start-up; `require` spares the 5 MiB of Node's CommonJS lexer.
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
 * A logger for `namespace`, e.g. `"prefect-dockerutils:engine"`. Until `debug` is loaded, each
 * call checks again, so `DEBUG` set after the import still takes effect.
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
