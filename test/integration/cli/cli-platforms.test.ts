// `prefect-dockerutils build --platform A,B -t NAME:TAG --push REGISTRY CONTEXT` as a child
// process, against the real engine and the open registry.
import { describe, expect, it } from "vitest";
import { runBin } from "../cli-run.js";
import { OPEN_REGISTRY, tagsOf } from "../registries.js";
import { imagesOfThisTest, platformContext, readIndex } from "../registry/platform-support.js";
import { testRepository } from "../support.js";

const open = { host: OPEN_REGISTRY };

describe("prefect-dockerutils build with several platforms", () => {
  it("builds both and pushes one index: the digest and the reference on stdout", async () => {
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const result = await runBin([
      "build",
      "--progress",
      "plain",
      "--platform",
      "linux/amd64,linux/arm64",
      "-t",
      `${repository}:cli`,
      "-t",
      `${repository}:latest`,
      "--push",
      `http://${OPEN_REGISTRY}`,
      dir,
    ]);
    expect(result.stderr).toContain("linux/arm64: pushed sha256:");
    expect(result.code).toBe(0);
    const [digest, reference] = result.stdout.trim().split("\n");
    expect(reference).toBe(`${OPEN_REGISTRY}/${repository}:cli`);
    const { index, configs } = await readIndex(open, repository, "cli");
    expect(index.digest).toBe(digest);
    expect(configs.map((entry) => entry.config)).toEqual(["linux/amd64", "linux/arm64"]);
    expect((await tagsOf(open, repository)).sort()).toEqual(["cli", "latest"]);
    expect(result.stderr).toContain(`${reference}: digest: ${digest}`);
    expect(result.stderr).toMatch(/build finished in \d+\.\ds\n$/);
    expect(await imagesOfThisTest()).toEqual([]);
  });

  it.each([
    [["-t", "team/app:1"], "add --push REGISTRY and -t NAME[:TAG]"],
    [["--push", `http://${OPEN_REGISTRY}`], "--push needs -t NAME[:TAG]"],
    [
      ["-t", "team/app:1", "-t", "team/other:1", "--push", `http://${OPEN_REGISTRY}`],
      "tags of one repository",
    ],
    [["-t", "team/app:1", "--push", "localhost:5000"], "is not a registry URL"],
  ])("refuses %j before building: %s", async (flags, message) => {
    const { dir } = await platformContext();
    const result = await runBin(["build", "--platform", "linux/amd64,linux/arm64", ...flags, dir]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe("");
  });
});
