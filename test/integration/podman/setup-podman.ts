// The podman project's own setup: the tests excluded.mjs names are skipped there, by name, with
// their reason (which vitest prints as the skip's note).
import path from "node:path";
import { beforeEach } from "vitest";
import { PODMAN_EXCLUDED } from "./excluded.mjs";

beforeEach((context) => {
  const file = path.basename(context.task.file.filepath, ".test.ts");
  const excluded = PODMAN_EXCLUDED.find(
    ([name, test]) => name === file && test === context.task.fullTestName,
  );
  if (excluded) context.skip(`not on Podman: ${excluded[2]}`);
});
