// Replays progress events through the command line's TTY renderer onto this process's stderr, for
// tests that run it inside tmux and read the screen. It shows states the real engine here cannot
// be made to show on demand: BuildKit vertices (until the BuildKit builder lands) and layers caught
// half-way through a push. Between the two halves it waits for the file named by its argument, so
// the test can read the live screen first.
//
//   node --import tsx test/integration/cli-tty-replay.ts GO_FILE
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { TtyRenderer } from "../../src/cli/progress/tty-renderer.js";
import type { ProgressEvent } from "../../src/index.js";

const goFile = process.argv[2] ?? "";
const renderer = TtyRenderer.create(process.stderr, { color: false });
const emit = (event: ProgressEvent) => renderer.onProgress(event);
const ago = (ms: number) => new Date(Date.now() - ms);

/** Waits until the test has created `GO_FILE` plus `suffix`. */
async function waitForGo(suffix = ""): Promise<void> {
  while (!existsSync(`${goFile}${suffix}`)) await sleep(50);
}

renderer.start("build", "replayed");
const base = { error: undefined, completed: undefined } as const;
emit({
  type: "vertex",
  digest: "d1",
  number: 1,
  name: "[internal] load build definition from Dockerfile",
  state: "started",
  ...base,
  started: ago(300),
});
emit({
  type: "vertex",
  digest: "d1",
  number: 1,
  name: "[internal] load build definition from Dockerfile",
  state: "completed",
  error: undefined,
  started: ago(300),
  completed: ago(200),
});
emit({
  type: "vertex",
  digest: "d2",
  number: 2,
  name: "[1/3] FROM docker.io/library/busybox:latest",
  state: "cached",
  error: undefined,
  started: undefined,
  completed: undefined,
});
// BuildKit may end a vertex twice; the display shows it once.
emit({
  type: "vertex",
  digest: "d2",
  number: 2,
  name: "[1/3] FROM docker.io/library/busybox:latest",
  state: "completed",
  error: undefined,
  started: ago(250),
  completed: ago(250),
});
emit({
  type: "vertex",
  digest: "d3",
  number: 3,
  name: "[2/3] RUN ./install.sh",
  state: "started",
  ...base,
  started: ago(1_200),
});
emit({
  type: "vertex",
  digest: "d4",
  number: 4,
  name: "[internal] load build context",
  state: "started",
  ...base,
  started: ago(100),
});
emit({
  type: "vertex-status",
  digest: "d4",
  number: 4,
  id: "transferring context:",
  name: "transferring",
  current: 1_500_000,
  total: 3_000_000,
  completed: false,
});
for (let i = 1; i <= 9; i++) {
  const text = `installing package ${i}\n`;
  emit({
    type: "vertex-log",
    digest: "d3",
    number: 3,
    stream: 1,
    data: new TextEncoder().encode(text),
    text,
  });
}
await waitForGo();
emit({
  type: "vertex-status",
  digest: "d4",
  number: 4,
  id: "transferring context:",
  name: "transferring",
  current: 3_000_000,
  total: 3_000_000,
  completed: true,
});
emit({
  type: "vertex",
  digest: "d4",
  number: 4,
  name: "[internal] load build context",
  state: "completed",
  error: undefined,
  started: ago(600),
  completed: ago(100),
});
emit({
  type: "vertex",
  digest: "d3",
  number: 3,
  name: "[2/3] RUN ./install.sh",
  state: "completed",
  error: undefined,
  started: ago(2_500),
  completed: new Date(),
});
emit({ type: "image-id", imageId: `sha256:${"ab".repeat(32)}` });
renderer.end({ kind: "done", summary: ["naming to team/app:1"] });

renderer.start("push", "team/app:1 to http://localhost:5000");
const layer = (id: string, status: string, current?: number, total?: number): ProgressEvent => ({
  type: "status",
  operation: "push",
  id,
  status,
  progress: undefined,
  current,
  total,
});
emit(layer("aaaaaaaaaaaa", "Preparing"));
emit(layer("bbbbbbbbbbbb", "Preparing"));
emit(layer("cccccccccccc", "Layer already exists"));
emit(layer("aaaaaaaaaaaa", "Pushing", 1_200_000, 4_000_000));
emit(layer("bbbbbbbbbbbb", "Pushing", 3_000_000, 12_000_000));
await waitForGo("2");
emit(layer("aaaaaaaaaaaa", "Pushed"));
emit(layer("bbbbbbbbbbbb", "Pushed"));
emit({ type: "digest", tag: "1", digest: `sha256:${"cd".repeat(32)}`, size: 1_234 });
renderer.end({ kind: "done", summary: ["pushed localhost:5000/team/app:1"] });
renderer.close();
process.stdout.write("replay done\n");
