import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Docker from "dockerode";
import type { TestProject } from "vitest/node";
import { tokenRegistry } from "../support/credentials/engine-ops.js";
import { authorization } from "./registries.js";
import { findLeaks, type Run, sweep } from "./run-leaks.js";

/** The test registry without authentication, started by scripts/test-services.sh. */
export const REGISTRY = "127.0.0.1:5555";

const HOW_TO_FIX = "Run `bash scripts/test-services.sh` (as root) to install and start them.";

/**
 * Fails the whole integration run, loudly, when the real services are not there: integration
 * tests never skip.
 */
export default async function setup(project: TestProject) {
  const docker = new Docker({ socketPath: "/var/run/docker.sock" });
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `Integration tests need the Docker engine at unix:///var/run/docker.sock, which did not answer (${(error as Error).message}). ${HOW_TO_FIX}`,
    );
  }
  try {
    await docker.getImage("busybox:latest").inspect();
  } catch {
    throw new Error(
      `Integration tests need the base image busybox:latest, which is missing. ${HOW_TO_FIX}`,
    );
  }
  for (const registry of [REGISTRY, "127.0.0.1:5556"]) {
    const response = await fetch(`http://${registry}/v2/`).catch((error: Error) => error);
    if (response instanceof Error || (response.status !== 200 && response.status !== 401)) {
      throw new Error(
        `Integration tests need the registry at http://${registry}, which did not answer (${response instanceof Error ? response.message : response.status}). ${HOW_TO_FIX}`,
      );
    }
  }
  await checkTokenRegistry();
  const root = await mkdtemp(path.join(tmpdir(), "pdu-run-"));
  const run: Run = {
    id: randomUUID(),
    // The run's own TMPDIR (setup-run.ts): what is left in it at the end leaked.
    tmp: path.join(root, "tmp"),
    parents: path.join(root, "parents"),
    startedAt: Math.floor(Date.now() / 1000) - 1,
  };
  await mkdir(run.tmp);
  await writeFile(run.parents, "");
  project.provide("testRun", run.id);
  project.provide("testTmp", run.tmp);
  project.provide("testParents", run.parents);

  return async () => {
    // Whatever the tests should have removed themselves fails the run (a throw here would only
    // be printed: vitest reports teardown errors but still exits 0), then everything the run
    // made is removed, leaked or not.
    const leaks = await findLeaks(docker, run);
    await sweep(docker, run);
    await rm(root, { recursive: true, force: true });
    const found = Object.entries(leaks).filter(([, items]) => items.length > 0);
    if (found.length > 0) {
      console.error(
        `\nThe integration run left these behind (now removed):\n${found
          .map(([kind, items]) => `  ${kind}:\n${items.map((item) => `    ${item}`).join("\n")}`)
          .join("\n")}\n`,
      );
      process.exitCode = 1;
    }
  };
}

/**
 * The bearer-token registry and its token server: the registry must answer with a Bearer
 * challenge, and its token server must issue a token the registry accepts for the test login.
 */
async function checkTokenRegistry(): Promise<void> {
  const registry = await tokenRegistry();
  const response = await fetch(`http://${registry.host}/v2/`).catch((error: Error) => error);
  const challenge =
    response instanceof Error ? "" : (response.headers.get("www-authenticate") ?? "");
  if (response instanceof Error || response.status !== 401 || !challenge.startsWith("Bearer ")) {
    throw new Error(
      `Integration tests need the token registry at http://${registry.host} (docker-registry with auth: token), which did not answer with a Bearer challenge (${response instanceof Error ? response.message : `${response.status} ${challenge}`}). ${HOW_TO_FIX}`,
    );
  }
  try {
    const headers = await authorization(
      { host: registry.host, login: registry, bearer: true },
      "repository:pdu-setup/check:pull",
    );
    const checked = await fetch(`http://${registry.host}/v2/`, { headers });
    if (checked.status !== 200)
      throw new Error(`the registry answered ${checked.status} to its token`);
  } catch (error) {
    throw new Error(
      `Integration tests need the token server of the token registry (${challenge}), which did not issue a token the registry accepts: ${(error as Error).message}. ${HOW_TO_FIX}`,
    );
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The run's id, the value of every image's and container's run label. */
    testRun: string;
    /** The run's own temporary folder, the TMPDIR of every test and process it starts. */
    testTmp: string;
    /** The file where tests note the parent layers of the images they remove (removeOwnImage). */
    testParents: string;
  }
}
