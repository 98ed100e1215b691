/**
 * The `debug` package, loaded with `require`: importing a CommonJS package from ES modules makes
 * Node start its CommonJS export lexer, which alone costs about 5 MiB at start-up. Every module
 * logs through this one (`DEBUG=prefect-dockerutils:*`).
 * @module
 */
import { createRequire } from "node:module";
import type Debug from "debug";

/** `debug`'s factory: `createDebug("prefect-dockerutils:engine")` makes a namespaced logger. */
export const createDebug = createRequire(import.meta.url)("debug") as typeof Debug;
