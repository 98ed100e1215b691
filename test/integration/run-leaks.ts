// What an integration run left behind, and the sweep that removes it. The global teardown calls
// `findLeaks` first (everything the tests should have removed themselves: a leak fails the run),
// then `sweep` (what the tests leave to the teardown on purpose: the run-labelled images).
// Everything here is found by what marks it as this run's, never by a broad name: other runs
// share the engine, the registries and /tmp.
// No vitest import here: this runs in the global setup, outside the test workers.
import { appendFile, readdir, readFile } from "node:fs/promises";
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
  /** The images the tests removed themselves (removeOwnImage), one ID a line. */
  readonly removed: string;
  /** Text in the description of each cache mount a test handed over to the teardown, one a line. */
  readonly cacheMounts: string;
  /** When the run started, in seconds (the engine's `Created` unit). */
  readonly startedAt: number;
}

/** What {@link watchRunImages} saw: the run's images that got or lost a name, and their parents. */
export interface WatchedImages {
  /** Each image that was tagged or untagged, with its parent ("" for none) when it could be read. */
  readonly parents: ReadonlyMap<string, string | undefined>;
  /** The engine's dangling images when the watch began: not this run's doing. */
  readonly danglingAtStart: ReadonlySet<string>;
}

/** A running watch; `stop()` ends it, or rejects if the engine's stream broke off meanwhile. */
export interface ImageWatch {
  stop(): Promise<WatchedImages>;
}

/**
 * Watches the engine's event stream for the whole run: every `tag` and `untag` of an image that
 * carries the run's label (the engine sends an image's labels with these events), and reads the
 * image's parent layer at once, while the image still exists (an image pushed or deleted by name
 * is tagged first, and lives through the push). The teardown then asks which of them are gone
 * without the tests having removed them, leaving their parent dangling. The engine keeps only its
 * last 256 events for later queries, far fewer than a run makes on a shared engine: hence a live
 * stream, not a query at the end.
 */
export async function watchRunImages(docker: Docker, run: Run): Promise<ImageWatch> {
  const parents = new Map<string, string | undefined>();
  const danglingAtStart = new Set(
    (await docker.listImages({ filters: JSON.stringify({ dangling: ["true"] }) })).map(
      (image) => image.Id,
    ),
  );
  let broken: Error | undefined;
  const stream = (await docker.getEvents({
    filters: JSON.stringify({
      type: ["image"],
      event: ["tag", "untag"],
      label: [`${RUN_LABEL}=${run.id}`],
    }),
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  // Each image is inspected as soon as its first event arrives (not queued behind the others:
  // an image tagged and removed within moments must still be read), once.
  const readings: Promise<void>[] = [];
  const note = (id: string) => {
    if (parents.has(id)) return;
    parents.set(id, undefined);
    readings.push(
      docker
        .getImage(id)
        .inspect()
        .then(
          (image) => void parents.set(id, image.Parent ?? ""),
          () => undefined,
        ),
    );
  };
  let pending = "";
  let stopping = false;
  stream.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    for (let newline = pending.indexOf("\n"); newline !== -1; newline = pending.indexOf("\n")) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line === "") continue;
      const id = (JSON.parse(line) as { Actor?: { ID?: unknown } }).Actor?.ID;
      if (typeof id === "string") note(id);
    }
    // Bounded: one event is far smaller than this.
    if (pending.length > 1 << 20) broken ??= new Error("an event longer than 1 MiB");
  });
  stream.on("error", (error: Error) => {
    if (!stopping) broken ??= error;
  });
  stream.on("end", () => {
    if (!stopping) broken ??= new Error("the engine ended its event stream");
  });
  return {
    async stop() {
      // Events of the last moment arrive a little after what caused them.
      await new Promise((resolve) => setTimeout(resolve, 500));
      stopping = true;
      stream.destroy();
      await Promise.all(readings);
      if (broken) throw broken;
      return { parents, danglingAtStart };
    },
  };
}

/** The IDs a run file lists, one a line. */
async function idsIn(file: string): Promise<Set<string>> {
  return new Set((await readFile(file, "utf8").catch(() => "")).split("\n").filter(Boolean));
}

/**
 * The run's images that some code other than the tests' own cleanup (removeOwnImage) deleted
 * with `noprune`, as Prefect's push did: each left its parent layer dangling. Such parents are
 * noted for the sweep, which removes them as the run's own.
 */
async function danglingParentsOfDeleted(
  docker: Docker,
  run: Run,
  watched: WatchedImages,
): Promise<string[]> {
  const removed = await idsIn(run.removed);
  const exists = (id: string) =>
    docker
      .getImage(id)
      .inspect()
      .then(
        () => true,
        () => false,
      );
  const candidates: [string, string | undefined][] = [];
  for (const [id, parent] of watched.parents) {
    if (removed.has(id) || parent === "" || (await exists(id))) continue;
    candidates.push([id, parent]);
  }
  if (candidates.length === 0) return [];
  const all = await docker.listImages({ all: true });
  const hasChildren = new Set(all.map((image) => image.ParentId).filter(Boolean));
  const untagged = new Set(
    all
      .filter((image) => (image.RepoTags ?? []).every((tag) => tag === "<none>:<none>"))
      .map((image) => image.Id),
  );
  const found: string[] = [];
  // For an image gone before its parent could be read, what might be that parent: dangling
  // images made since the run started that were not dangling when it began. Not a test run's
  // labelled images: those are builds the tests left untagged for the sweep on purpose (and the
  // check after the sweep fails on any of them still dangling); a parent layer has no label.
  const created = new Map(all.map((image) => [image.Id, image.Created]));
  const labelled = new Set(
    all.filter((image) => image.Labels?.[RUN_LABEL] !== undefined).map((image) => image.Id),
  );
  const orphans = [...untagged].filter(
    (image) =>
      !hasChildren.has(image) &&
      !labelled.has(image) &&
      !watched.danglingAtStart.has(image) &&
      (created.get(image) ?? 0) >= run.startedAt,
  );
  for (const [id, parent] of candidates) {
    if (parent === undefined) {
      // No proof either way: unlabelled dangling images also come from the classic builder's
      // failed builds (the last good step's image stays as cache, as with the docker CLI), which
      // many tests make on purpose. So they are swept as the run's own and named, not failed on;
      // a deletion whose parent was read is judged exactly below.
      if (orphans.length === 0) continue;
      console.warn(
        `${id} was deleted before its parent layer could be read; sweeping the unlabelled images that dangle since the run began: ${orphans.join(", ")}`,
      );
      for (const orphan of orphans) await appendFile(run.parents, `${orphan}\n`);
    } else if (untagged.has(parent) && !hasChildren.has(parent)) {
      found.push(`${id} was deleted, leaving its parent ${parent} dangling`);
      await appendFile(run.parents, `${parent}\n`);
    }
  }
  return found.sort();
}

/**
 * Dangling images (no tag, no child) of the run that are still there after the sweep: the
 * teardown's last check that the run leaves none behind.
 */
export async function danglingLeftovers(docker: Docker, run: Run): Promise<string[]> {
  const images = await docker.listImages({
    filters: JSON.stringify({ dangling: ["true"], label: [`${RUN_LABEL}=${run.id}`] }),
  });
  return images.map((image) => image.Id).sort();
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

/** One entry of the engine's BuildKit build cache, as `GET /system/df` lists it. */
interface CacheEntry {
  readonly ID: string;
  readonly Type: string;
  readonly Description: string;
}

/**
 * The BuildKit build cache entries that name the run (`pdu-<run>` in their description): only the
 * cache mounts (`mode`), or every kind, RUN steps whose command names it included. BuildKit
 * describes its other entries with fixed text ("local source for context", "fileop target"),
 * with no path, session or label of the build that made them, so on an engine other runs share
 * they cannot be told apart from theirs: those are left to BuildKit's own garbage collection.
 */
async function runCacheEntries(
  docker: Docker,
  run: Run,
  mode: "mounts" | "all",
): Promise<CacheEntry[]> {
  const df = (await docker.df()) as { BuildCache?: CacheEntry[] | null };
  return (df.BuildCache ?? []).filter(
    (entry) =>
      (mode === "all" || entry.Type === "exec.cachemount") &&
      entry.Description.includes(runNamespace(run.id)),
  );
}

/**
 * Prunes the cache mounts tests handed over (`removeCacheMountAtTeardown`): those whose
 * description holds a line of `run.cacheMounts` and names the run. Done before the leak check, so
 * that any other cache mount naming the run still fails it.
 */
export async function pruneHandedOverCacheMounts(docker: Docker, run: Run): Promise<void> {
  const texts = (await readFile(run.cacheMounts, "utf8")).split("\n").filter(Boolean);
  if (texts.length === 0) return;
  const mounts = await runCacheEntries(docker, run, "mounts");
  await pruneCacheEntries(
    docker,
    mounts
      .filter((entry) => texts.some((text) => entry.Description.includes(text)))
      .map((entry) => entry.ID),
  );
}

/**
 * Prunes build cache entries one by one, by ID. Not by description: BuildKit 0.8 (Docker 20.10)
 * fills in no description on the entries its prune filter sees, so a description filter matches
 * nothing (and one with spaces does not even parse). An ID is matched as a regular expression
 * (`id~=`), hence anchored; IDs are letters and digits only.
 */
export async function pruneCacheEntries(docker: Docker, ids: Iterable<string>): Promise<void> {
  for (const id of ids) {
    if (!/^[a-z0-9]+$/.test(id)) continue;
    await docker.pruneBuilder({
      // @ts-expect-error @types/dockerode lacks the filters and `all` of POST /build/prune (API 1.39+)
      filters: JSON.stringify({ id: [`^${id}$`] }),
      all: true,
    });
  }
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
 * BuildKit cache mounts, and run images deleted in a way that left their parent layers dangling
 * (`watched`: what {@link watchRunImages} saw). Empty lists mean nothing leaked.
 */
export async function findLeaks(
  docker: Docker,
  run: Run,
  watched: WatchedImages = { parents: new Map(), danglingAtStart: new Set() },
): Promise<Leaks> {
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
    "BuildKit cache mounts": (await runCacheEntries(docker, run, "mounts")).map(
      (entry) => entry.Description,
    ),
    "images deleted leaving dangling parent layers": await danglingParentsOfDeleted(
      docker,
      run,
      watched,
    ),
  };
}

/**
 * Removes what the run made: its containers and processes (leaks, already reported), its
 * registry tags and cache mounts, then its labelled images, children before parents, never forced. Parent
 * layers the classic builder made are pruned only where the run made them (created since it
 * started, untagged, without other children): older ones are the engine's shared cache, which a
 * concurrent run may be building on at this moment.
 */
export async function sweep(docker: Docker, run: Run): Promise<string[]> {
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
  // Every build cache entry that names the run, its RUN steps' as well as its cache mounts'. An
  // engine that cannot list its cache must not stop the images' removal below; it is reported.
  const problems: string[] = [];
  try {
    await pruneCacheEntries(
      docker,
      (await runCacheEntries(docker, run, "all")).map((entry) => entry.ID),
    );
  } catch (error) {
    problems.push(`the run's build cache entries could not be pruned: ${(error as Error).message}`);
  }

  // Children before parents: a child is always newer than its parent.
  const byAge = [...labelled].sort((a, b) => b.Created - a.Created);
  const parents = await idsIn(run.parents);
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
  return problems;
}
