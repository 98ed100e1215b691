// generateDefaultDockerfile's baseImage (issue 17, item 16: the command line's --base-image).
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import { generateDefaultDockerfile } from "../../src/prefect/default-dockerfile.js";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const parent = await mkdtemp(path.join(tmpdir(), "pdu-default-df-"));
  folders.push(parent);
  return parent;
}

describe("generateDefaultDockerfile with baseImage", () => {
  it("starts FROM the given image, the rest as Prefect writes it", async () => {
    const dir = await folder();
    {
      await using dockerfile = await generateDefaultDockerfile(dir, {
        baseImage: "python:3.12-slim",
      });
      expect(await readFile(dockerfile.path, "utf8")).toBe(
        `FROM python:3.12-slim\nCOPY . /opt/prefect/${path.basename(dir)}/\nWORKDIR /opt/prefect/${path.basename(dir)}/\n`,
      );
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it.each(["python 3.12", "python:3.12\nRUN rm -rf /", "", 3])(
    "refuses baseImage %j before writing anything",
    async (baseImage) => {
      const dir = await folder();
      const error = await generateDefaultDockerfile(dir, { baseImage: baseImage as string }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(
        /^Failed to generate Dockerfile\. baseImage must be an image reference/,
      );
      expect(await readdir(dir)).toEqual([]);
    },
  );
});
