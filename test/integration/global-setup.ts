import { randomUUID } from "node:crypto";
import Docker from "dockerode";
import type { TestProject } from "vitest/node";

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
  const testRun = randomUUID();
  project.provide("testRun", testRun);

  return async () => {
    // Everything the tests built carries the run's label (see setup-labels.ts); sweep it.
    const filters = JSON.stringify({ label: [`io.prefect-dockerutils.test-run=${testRun}`] });
    const containers = await docker.listContainers({ all: true, filters });
    for (const container of containers) {
      await docker
        .getContainer(container.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    const images = await docker.listImages({ all: true, filters });
    for (const image of images) {
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    testRun: string;
  }
}
