// The README's example run (`npm run example`, examples/build-hello.ts) against the real engine
// and registry: it builds, runs and pushes an image, removes what it built, and leaves no image
// behind, dangling parent layers included.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { tempDir } from "../../support/files.js";
import { deleteTag } from "../registries.js";
import { docker, TEST_RUN } from "../support.js";

const run = promisify(execFile);
const repository = path.resolve(import.meta.dirname, "../../..");

/** Images whose build step ran `command` (its container's command holds it). */
async function imagesOfStep(command: string, since: number): Promise<string[]> {
  const found: string[] = [];
  for (const image of await docker.listImages({ all: true })) {
    // Only what appeared while the example ran can be its.
    if (image.Created < since) continue;
    const inspected = await docker
      .getImage(image.Id)
      .inspect()
      .catch(() => undefined);
    if (inspected?.ContainerConfig?.Cmd?.join(" ").includes(command)) found.push(image.Id);
  }
  return found;
}

describe("npm run example", () => {
  it("builds, runs and pushes the hello image, and leaves no image behind", async () => {
    // The example's images get this run's labels, as the tests' own do (setup-run.ts), so the
    // teardown finds whatever it might leave; the example stays as the README shows it.
    const labels = path.join(await tempDir(), "labels.mjs");
    await writeFile(
      labels,
      `import { IMAGE_LABELS } from ${JSON.stringify(path.join(repository, "src/index.ts"))};
IMAGE_LABELS["io.prefect-dockerutils.test-run"] = ${JSON.stringify(TEST_RUN)};
`,
    );
    const since = Math.floor(Date.now() / 1000) - 1;
    const { stdout } = await run(
      path.join(repository, "node_modules/.bin/tsx"),
      ["--import", labels, "examples/build-hello.ts"],
      { cwd: repository, env: { ...process.env, PDU_EXAMPLE_REGISTRY: "http://127.0.0.1:5555" } },
    );
    const pushed = /^Pushed 127\.0\.0\.1:5555\/(prefect-dockerutils\/hello):(\S+)$/m.exec(stdout);
    expect(pushed, stdout).not.toBeNull();
    onTestFinished(() =>
      deleteTag({ host: "127.0.0.1:5555" }, pushed?.[1] as string, pushed?.[2] as string),
    );
    expect(stdout).toContain("The image says: Hello from prefect-dockerutils!");
    const imageId = /^Built (sha256:[0-9a-f]{64})$/m.exec(stdout)?.[1] as string;
    await expect(docker.getImage(imageId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    // The RUN step the example writes is unique to this run ("built at <time>"): no image of
    // that step or after it may remain, dangling or not.
    const runLine = /^RUN echo 'built at' '([^']+)'$/m.exec(stdout)?.[1];
    expect(runLine, stdout).toBeDefined();
    expect(await imagesOfStep(`built at' '${runLine}'`, since)).toEqual([]);
  });
});
