// Issue 5: many operations at once from one process all succeed and leak nothing.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ImageBuilder, pushImageDetailed } from "../../src/index.js";
import { docker, REGISTRY_URL, removeOwnImage, testRepository } from "./support.js";

const openFiles = () => readdirSync("/proc/self/fd").length;
const temporaryFolders = () =>
  readdirSync(tmpdir()).filter((name) => name.startsWith("prefect-dockerutils-")).length;
const sockets = () =>
  process.getActiveResourcesInfo().filter((kind) => /TCP|Pipe|Socket/i.test(kind)).length;

// A temporary folder of this file's own, so other test files' folders do not count.
const ownTmp = mkdtempSync(path.join(tmpdir(), "pdu-load-"));
process.env.TMPDIR = ownTmp;
afterAll(() => rmSync(ownTmp, { recursive: true, force: true }));

const keepRepo = "localhost/pdu-load";
const keepTag = `${keepRepo}:${randomUUID()}`;
let baseImage: string;
beforeAll(async () => {
  await using image = await new ImageBuilder("busybox").open();
  image.addLine(`LABEL io.prefect-dockerutils.load ${randomUUID()}`);
  baseImage = await image.build();
  await docker.getImage(baseImage).tag({ repo: keepRepo, tag: keepTag.slice(keepRepo.length + 1) });
});
afterAll(() => removeOwnImage(keepTag));

it("runs 20 builds and 20 pushes at once, all succeeding, leaking no file, folder or socket", async () => {
  // Let connections from the setup close before counting.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = { files: openFiles(), folders: temporaryFolders(), sockets: sockets() };
  // This run's own repository: other runs' pushes and tags of the same names must not count.
  const repository = testRepository("load");

  const builds = Array.from({ length: 20 }, async (_, i) => {
    await using image = await new ImageBuilder("busybox").open();
    image.writeText(`build ${i}\n`, "/build.txt");
    image.addLine(`RUN echo build ${i}`);
    // "return await": a bare "return" would dispose the builder before the build finishes.
    return await image.build();
  });
  // Twenty pushes of one image to one repository race in the registry: a manifest PUT may be
  // refused with "digest invalid" / "manifest blob unknown", or a 500. Such a push is retried as
  // transient (see REGISTRY_RACE_MESSAGES), so every push succeeds whoever wins the race.
  const pushes = Array.from({ length: 20 }, (_, i) =>
    pushImageDetailed(baseImage, REGISTRY_URL, repository, { tag: `load-${i}` }),
  );
  const [built, pushed] = await Promise.all([Promise.all(builds), Promise.all(pushes)]);

  expect(new Set(built).size).toBe(20);
  for (const id of built) expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(new Set(pushed.map((p) => p.digest)).size).toBe(1);
  expect(pushed.map((p) => p.reference)).toEqual(
    Array.from({ length: 20 }, (_, i) => `127.0.0.1:5555/${repository}:load-${i}`),
  );

  expect(temporaryFolders()).toBe(before.folders);
  // Idle keep-alive connections of Node's global HTTP agent close after its 5 s timeout.
  // The setup's own idle connection may have closed too, so "no more than before".
  await expect
    .poll(() => openFiles() <= before.files && sockets() <= before.sockets, {
      timeout: 15_000,
      interval: 500,
    })
    .toBe(true);
  const leftTags = (await docker.listImages())
    .flatMap((i) => i.RepoTags ?? [])
    .filter((t) => t.includes(`${repository}:load-`));
  expect(leftTags).toEqual([]);
}, 300_000);
