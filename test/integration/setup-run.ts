import { randomUUID } from "node:crypto";
import { mkdtemp, rm, rmdir } from "node:fs/promises";
import { userInfo } from "node:os";
import path from "node:path";
import { afterAll, beforeEach, expect, inject } from "vitest";
import { IMAGE_LABELS } from "../../src/index.js";

// Every image built during this run carries the run's label, so the global teardown can remove
// exactly what the tests made and nothing else on the machine.
IMAGE_LABELS["io.prefect-dockerutils.test-run"] = inject("testRun");

// And a label of its test: tests that build the same context would otherwise get the same image
// ID (the classic builder appends the labels as one last LABEL step), and one test removing its
// image would remove another's. Set per file too, for what a beforeAll builds.
IMAGE_LABELS["io.prefect-dockerutils.test-id"] = randomUUID();
beforeEach(() => {
  IMAGE_LABELS["io.prefect-dockerutils.test-id"] = randomUUID();
});

// The run's own temporary folder (global-setup.ts): the library's temporary contexts, the tests'
// folders and those of every process they start land there, so that "nothing left behind" is
// checked in a folder no other test run writes to, and the teardown fails on what is left in it.
// Each test file gets a folder of its own in it, so that a test comparing what is in its TMPDIR
// before and after does not see another file's files (files run in parallel). It is removed after
// the file only if empty: what is still in it is reported by the teardown.
const fileName = path.basename(expect.getState().testPath ?? "file", ".test.ts");
const fileTmp = await mkdtemp(path.join(inject("testTmp"), `${fileName}-`));
process.env.TMPDIR = fileTmp;
// The user cache folder of the processes the tests start: the bin keeps Node's compile cache there
// (on Node 22.1 and later), which must not land in the real home.
process.env.XDG_CACHE_HOME = path.join(fileTmp, "cache");
afterAll(async () => {
  // Compile caches shared by the processes the tests start: tsx's (the bin, child scripts), the
  // bin's in the cache folder above, and Node's default one, which tsc and npm enable on Node 22.1
  // and later (in TMPDIR/node-compile-cache).
  for (const cache of [
    `tsx-${process.geteuid?.() ?? userInfo().username}`,
    "cache",
    "node-compile-cache",
  ]) {
    await rm(path.join(fileTmp, cache), { recursive: true, force: true });
  }
  await rmdir(fileTmp).catch(() => undefined);
});
// Inherited by every process a test starts (the bin, helpers, ssh-agent, tmux): the teardown
// finds any still running by it.
process.env.PDU_TEST_RUN = inject("testRun");
