// The recipe of docs/testing.md for unit tests: capture builders and stub build(), with no engine at all.
import path from "node:path";
import { expect, it, vi } from "vitest";
import { ImageBuilder } from "../src/index.js";
import { captureBuilders } from "../src/testing.js";

const flows = path.resolve(import.meta.dirname, "fixtures/contexts/tiny");

/** Code under test: what a deploy script does. */
async function deployMyFlow(): Promise<string> {
  await using image = await new ImageBuilder("busybox", { baseDirectory: flows }).open();
  image.copy("hello.txt", "/opt/prefect/flows/hello.txt");
  return image.build({ env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
}

it("builds the flow image with build() stubbed, as docs/testing.md shows", async () => {
  const build = vi
    .spyOn(ImageBuilder.prototype, "build")
    .mockResolvedValue(`sha256:${"0".repeat(64)}`);
  try {
    using builders = captureBuilders();
    expect(await deployMyFlow()).toBe(`sha256:${"0".repeat(64)}`);
    expect(build).toHaveBeenCalledOnce();
    builders[0]?.assertHasFile("hello.txt", "/opt/prefect/flows/hello.txt");
    expect(builders).toHaveLength(1);
  } finally {
    build.mockRestore();
  }
});

it("would need an engine without the stub", async () => {
  // The same code reaches for the (missing) engine: the stub above is what kept it away.
  await expect(deployMyFlow()).rejects.toThrow(/nonexistent/);
});
