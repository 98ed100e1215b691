/**
 * The session's shared key: the engine keeps what it synced from a folder under this key, so the
 * next build of the same folder sends only what changed.
 * @module
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { dockerConfigDir } from "../docker-config/docker-config.js";
import { crypto } from "../lazy-builtins.js";

/**
 * This machine's identity for shared keys: the docker CLI's `.buildNodeID` when it has one, so
 * the CLI and this library share the engine's copy of a folder; else one derived from the host
 * and user, written nowhere.
 */
export function buildNodeId(env: NodeJS.ProcessEnv): string {
  try {
    const id = readFileSync(path.join(dockerConfigDir(env), ".buildNodeID"), "utf8").trim();
    if (/^[0-9a-f]{64}$/.test(id)) return id;
  } catch {
    // No CLI identity: derive one below.
  }
  const user = typeof process.getuid === "function" ? process.getuid() : os.userInfo().username;
  return crypto()
    .createHash("sha256")
    .update(`prefect-dockerutils:${os.hostname()}:${user}`)
    .digest("hex");
}

/** The CLI's key for a folder: `sha256("<node id>:<absolute folder>")` in hex. */
export function sessionSharedKey(folder: string, env: NodeJS.ProcessEnv): string {
  return crypto()
    .createHash("sha256")
    .update(`${buildNodeId(env)}:${path.resolve(folder)}`)
    .digest("hex");
}
