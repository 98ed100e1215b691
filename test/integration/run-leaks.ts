// What an integration run left behind, and the sweep that removes it. The global teardown calls
// `findLeaks` first (everything the tests should have removed themselves: a leak fails the run),
// then `sweep` (what the tests leave to the teardown on purpose: the run-labelled images).
// Everything here is found by what marks it as this run's, never by a broad name: other runs
// share the engine, the registries and /tmp.
// No vitest import here: this runs in the global setup, outside the test workers.
import { readdir, readFile } from "node:fs/promises";
import type Docker from "dockerode";
import {
  deleteTags,
  repositoriesUnder,
  runNamespace,
  tagsOf,
  testRegistries,
} from "./registries.js";

/** The label every image and container of a run carries (see setup-run.ts). */
export const RUN_LABEL = "io.prefect-dockerutils.test-run";

/** What identifies a run's resources. */
export interface Run {
  /** The run's id: the label value, the `PDU_TEST_RUN` of its processes. */
  readonly id: string;
  /** The run's own temporary folder: the TMPDIR of its tests and their processes. */
  readonly tmp: string;
  /** The parent layers of the images the tests removed themselves, one ID a line. */
  readonly parents: string;
  /** When the run started, in seconds (the engine's `Created` unit). */
  readonly startedAt: number;
}

/** One line per leaked thing, grouped by kind. */
export type Leaks = Record<string, string[]>;

/** Processes (other than this one and its parents) whose environment or command line is the run's. */
async function runProcesses(run: Run): Promise<{ pid: number; command: string }[]> {
  const own = new Set([process.pid, process.ppid]);
  const found: { pid: number; command: string }[] = [];
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || own.has(pid)) continue;
    // A process may exit while we look: then it is no leak.
    const environ = await readFile(`/proc/${pid}/environ`, "latin1").catch(() => "");
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "latin1").catch(() => "");
    if (environ.split("\0").includes(`PDU_TEST_RUN=${run.id}`) || cmdline.includes(run.tmp)) {
      found.push({ pid, command: cmdline.replaceAll("\0", " ").trim().slice(0, 200) });
    }
  }
  return found;
}

/** Waits (bounded) for processes that are on their way out, and gives those still there. */
async function lingeringProcesses(run: Run): Promise<{ pid: number; command: string }[]> {
  let found = await runProcesses(run);
  for (let i = 0; i < 40 && found.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    found = await runProcesses(run);
  }
  return found;
}

/** The build cache entries of BuildKit cache mounts whose description names the run. */
async function runCacheMounts(docker: Docker, run: Run): Promise<string[]> {
  const df = (await docker.df()) as {
    BuildCache?: { Type: string; Description: string }[] | null;
  };
  return (df.BuildCache ?? [])
    .filter(
      (entry) =>
        entry.Type === "exec.cachemount" && entry.Description.includes(runNamespace(run.id)),
    )
    .map((entry) => entry.Description);
}

/**
 * What is left in the run's temporary folder, as paths relative to it. Each test file has a folder
 * of its own there (setup-run.ts), removed after the file if empty.
 */
async function temporaryFiles(run: Run): Promise<string[]> {
  return (await readdir(run.tmp, { recursive: true }).catch(() => [])).map(String).sort();
}

/**
 * Everything the run's tests should have removed and did not: containers, tags on run-labelled
 * images, registry tags in the run's namespace, files in the run's temporary folder, processes,
 * BuildKit cache mounts. Empty lists mean nothing leaked.
 */
export async function findLeaks(docker: Docker, run: Run): Promise<Leaks> {
  const filters = JSON.stringify({ label: [`${RUN_LABEL}=${run.id}`] });
  const images = await docker.listImages({ all: true, filters });
  const imageIds = new Set(images.map((image) => image.Id));
  const containers = (await docker.listContainers({ all: true })).filter(
    (container) => container.Labels?.[RUN_LABEL] === run.id || imageIds.has(container.ImageID),
  );
  const registryTags: string[] = [];
  for (const registry of await testRegistries()) {
    for (const repository of await repositoriesUnder(registry, `${runNamespace(run.id)}/`)) {
      for (const tag of await tagsOf(registry, repository)) {
        registryTags.push(`${registry.host}/${repository}:${tag}`);
      }
    }
  }
  return {
    containers: containers.map((c) => `${c.Id.slice(0, 12)} ${c.Image} ${c.Command}`),
    "image tags": images
      .flatMap((image) => image.RepoTags ?? [])
      .filter((tag) => tag !== "<none>:<none>"),
    "registry tags": registryTags,
    "temporary files": await temporaryFiles(run),
    processes: (await lingeringProcesses(run)).map((p) => `${p.pid} ${p.command}`),
    "BuildKit cache mounts": await runCacheMounts(docker, run),
  };
}

/**
 * Removes what the run made: its containers and processes (leaks, already reported), its
 * registry tags and cache mounts, then its labelled images, children before parents, never forced. Parent
 * layers the classic builder made are pruned only where the run made them (created since it
 * started, untagged, without other children): older ones are the engine's shared cache, which a
 * concurrent run may be building on at this moment.
 */
export async function sweep(docker: Docker, run: Run): Promise<void> {
  const filters = JSON.stringify({ label: [`${RUN_LABEL}=${run.id}`] });
  const labelled = await docker.listImages({ all: true, filters });
  const labelledIds = new Set(labelled.map((image) => image.Id));
  for (const container of await docker.listContainers({ all: true })) {
    if (container.Labels?.[RUN_LABEL] === run.id || labelledIds.has(container.ImageID)) {
      await docker
        .getContainer(container.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
  for (const { pid } of await runProcesses(run)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
  for (const registry of await testRegistries()) {
    for (const repository of await repositoriesUnder(registry, `${runNamespace(run.id)}/`)) {
      await deleteTags(registry, repository).catch(() => undefined);
    }
  }
  for (const description of await runCacheMounts(docker, run)) {
    await docker.pruneBuilder({
      // @ts-expect-error @types/dockerode lacks the filters of POST /build/prune (API 1.39+)
      filters: JSON.stringify({ description: [description] }),
    });
  }

  // Children before parents: a child is always newer than its parent.
  const byAge = [...labelled].sort((a, b) => b.Created - a.Created);
  const parents = new Set(
    (await readFile(run.parents, "utf8").catch(() => "")).split("\n").filter(Boolean),
  );
  for (const image of byAge) {
    // Never forced: its tags (leaks, reported already) go one by one, and an image that something
    // outside the run still uses (a container, a child image) stays.
    for (const tag of image.RepoTags ?? []) {
      if (tag === "<none>:<none>") continue;
      await docker
        .getImage(tag)
        .remove({ noprune: true })
        .catch(() => undefined);
    }
    await docker
      .getImage(image.Id)
      .remove({ noprune: true })
      .then(
        () => {
          if (image.ParentId) parents.add(image.ParentId);
        },
        () => undefined,
      );
  }
  // Then the parents the run made, up each chain, as long as nothing else uses them.
  while (parents.size > 0) {
    const all = await docker.listImages({ all: true });
    const hasChildren = new Set(all.map((image) => image.ParentId).filter(Boolean));
    const byId = new Map(all.map((image) => [image.Id, image]));
    const next = new Set<string>();
    for (const id of parents) {
      const image = byId.get(id);
      if (
        image === undefined ||
        hasChildren.has(id) ||
        image.Created < run.startedAt ||
        (image.RepoTags ?? []).some((tag) => tag !== "<none>:<none>")
      ) {
        continue;
      }
      const removed = await docker
        .getImage(id)
        .remove({ noprune: true })
        .then(
          () => true,
          () => false,
        );
      if (removed && image.ParentId) next.add(image.ParentId);
    }
    parents.clear();
    for (const id of next) parents.add(id);
  }
}
