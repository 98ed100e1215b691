/**
 * Whether an engine can build with BuildKit, decided from its `/_ping` answer.
 * @module
 */
import {
  type EngineConnection,
  type EnginePing,
  enginePingOf,
} from "../engine/engine-connection.js";
import { BuildError, InvalidArgumentError } from "../errors.js";

/** The oldest API version whose builds take `version=2` and a session (Docker 18.09). */
export const MIN_BUILDKIT_API_VERSION = "1.39";

function versionAtLeast(version: string, minimum: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const [wantMajor = 0, wantMinor = 0] = minimum.split(".").map(Number);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/**
 * Checks that the engine can build with BuildKit. Linux engines of 18.09 and later can on request
 * even when it is not their default (20.10 then sends no `Builder-Version`); Podman (an empty
 * `Builder-Version`) answers `/build?version=2` with its own builder and has no `/session`.
 * @throws BuildError naming what is missing: Podman, an API before 1.39, or a Windows engine
 *   without `Builder-Version: 2`.
 */
export function assertBuildKitSupport(ping: EnginePing, endpoint: string): void {
  const { apiVersion, builderVersion, osType } = ping;
  if (ping.podman || builderVersion === "") {
    throw new BuildError(
      `The engine at ${endpoint} is ${ping.podman ? "Podman, whose" : "one whose"} Docker-compatible API has no BuildKit session (its /_ping announces no builder version): build with builder: "classic", which it runs with its own builder`,
    );
  }
  if (apiVersion !== undefined && !versionAtLeast(apiVersion, MIN_BUILDKIT_API_VERSION)) {
    throw new BuildError(
      `The Docker engine at ${endpoint} speaks API ${apiVersion}, older than the ${MIN_BUILDKIT_API_VERSION} BuildKit needs; upgrade the engine or use builder: "classic"`,
    );
  }
  if (builderVersion === "1" && osType === "windows") {
    throw new BuildError(
      `The Docker engine at ${endpoint} is a Windows engine without BuildKit (Builder-Version 1); use builder: "classic"`,
    );
  }
}

/** The API version of Docker 23, the first engine whose BuildKit applies `shmsize`. */
export const MIN_SHM_SIZE_API_VERSION = "1.42";

/**
 * Refuses a `shmSize` the engine's BuildKit would silently leave out (before Docker 23).
 * @throws InvalidArgumentError when `shmSize` is set and the engine is older.
 */
export function assertShmSizeSupport(
  shmSize: number | undefined,
  apiVersion: string | undefined,
): void {
  if (shmSize === undefined || shmSize <= 0) return;
  if (apiVersion !== undefined && !versionAtLeast(apiVersion, MIN_SHM_SIZE_API_VERSION)) {
    throw new InvalidArgumentError(
      `shmSize is ignored by the BuildKit of this engine (API ${apiVersion}; Docker 23, API ${MIN_SHM_SIZE_API_VERSION}, is the first to apply it): leave it out, or use builder: "classic"`,
    );
  }
}

/** The engine's `/_ping` headers: those of the caller's ping, else of a new one. */
export async function pingEngine(
  engine: EngineConnection,
  signal?: AbortSignal,
): Promise<EnginePing> {
  if (engine.lastPing !== undefined) return engine.lastPing;
  const response = await engine.request({
    method: "GET",
    path: "/_ping",
    ...(signal ? { signal } : {}),
  });
  response.resume();
  return enginePingOf(response.headers);
}
