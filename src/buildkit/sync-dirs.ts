/**
 * The folders a BuildKit session serves through FileSync, with the rules that hold whatever the
 * engine asks: `context` with its ignore rules as the classic build chooses them, and from the
 * Dockerfile's folder (which may be anywhere) only the Dockerfile and its ignore file.
 * @module
 */
import nodeFs, { realpathSync, statSync } from "node:fs";
import path from "node:path";
import type { BuildContextOverlay } from "../build-context/build-context.js";
import { planContext } from "../build-context/context-plan.js";
import { InvalidArgumentError } from "../errors.js";
import type { SyncTree } from "./sync-tree.js";

/** What {@link syncDirs} decided. */
export interface SyncDirs {
  /** The folders by session name. */
  readonly dirs: ReadonlyMap<string, SyncTree>;
  /** The context folder, absolute and real. */
  readonly contextDir: string;
  /** The Dockerfile's base name, for the build's `dockerfile` parameter. */
  readonly dockerfileName: string;
}

/**
 * The folders of a build of `context` with `dockerfile` (relative to the context, or absolute).
 * @throws DockerfileNotFoundError when the Dockerfile does not exist; BuildContextError when the
 *   classic build would refuse the context, Dockerfile, overlays or `.dockerignore`;
 *   InvalidArgumentError when the Dockerfile's folder does not exist.
 */
export function syncDirs(
  context: string,
  dockerfile: string | undefined,
  overlays: readonly BuildContextOverlay[] = [],
): SyncDirs {
  const contextDir = realpathSync(path.resolve(context));
  // Planned first, as the classic build plans: a missing Dockerfile, one reached through a link
  // out of the context, a bad overlay or `.dockerignore` fail here, before the session opens.
  // The engine's file-sync request can narrow what is sent, never widen it (SyncTree.ignore).
  const plan = planContext(contextDir, { dockerfile, overlays, fs: nodeFs });
  const dockerfilePath = path.resolve(contextDir, dockerfile ?? "Dockerfile");
  const dockerfileDir = path.dirname(dockerfilePath);
  let dockerfileDirExists = false;
  try {
    dockerfileDirExists = statSync(dockerfileDir).isDirectory();
  } catch {
    // Reported below.
  }
  if (!dockerfileDirExists) {
    throw new InvalidArgumentError(
      `dockerfile ${JSON.stringify(dockerfile)}: the folder ${dockerfileDir} does not exist`,
    );
  }
  const dockerfileName = path.basename(dockerfilePath);
  const only = [dockerfileName, `${dockerfileName}.dockerignore`];
  // The docker CLI's lower-case fallback, which the engine asks for when no name was given.
  if (dockerfile === undefined) only.push("dockerfile", "dockerfile.dockerignore");
  const dirs = new Map<string, SyncTree>([
    [
      "context",
      {
        root: contextDir,
        overlays,
        ignore: { excludes: plan.excludes, alwaysInclude: plan.alwaysInclude },
      },
    ],
    ["dockerfile", { root: dockerfileDir, only }],
  ]);
  return { dirs, contextDir, dockerfileName };
}
