// generateDefaultDockerfile's folder handling and errors, without an engine.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  DockerUtilsError,
  generateDefaultDockerfile,
  InvalidArgumentError,
  resolvePrefectImageName,
} from "../../src/index.js";
import { tempDir } from "../support/files.js";

/** Runs `fn` with the process in `directory` (vitest runs test files in forked processes). */
async function inDirectory<T>(directory: string, fn: () => Promise<T>): Promise<T> {
  const before = process.cwd();
  process.chdir(directory);
  try {
    return await fn();
  } finally {
    process.chdir(before);
  }
}

describe("generateDefaultDockerfile", () => {
  it('names the folder the same for ".", "" and no argument', async () => {
    const root = await tempDir();
    const flows = path.join(root, "my-flows");
    await mkdir(flows);
    const expected = `FROM ${await resolvePrefectImageName()}\nCOPY . /opt/prefect/my-flows/\nWORKDIR /opt/prefect/my-flows/\n`;
    for (const argument of [".", "", "./", undefined]) {
      const text = await inDirectory(flows, async () => {
        await using generated = await generateDefaultDockerfile(argument);
        expect(generated.path).toBe(path.join(flows, "Dockerfile"));
        return await readFile(generated.path, "utf8");
      });
      expect(text, JSON.stringify(argument)).toBe(expected);
    }
  });

  it("names the folder a relative path with .. resolves to", async () => {
    const root = await tempDir();
    await mkdir(path.join(root, "flows", "sub"), { recursive: true });
    // Not path.join, which would remove the `..` itself.
    const relative = `${path.relative(process.cwd(), path.join(root, "flows", "sub"))}/..`;
    await using generated = await generateDefaultDockerfile(relative);
    expect(await readFile(generated.path, "utf8")).toContain("COPY . /opt/prefect/flows/\n");
  });

  it("rejects a missing folder with a coded error naming it", async () => {
    const missing = path.join(await tempDir(), "missing");
    const error = await generateDefaultDockerfile(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe("ERR_DOCKER_INVALID_ARGUMENT");
    expect((error as Error).message).toBe(
      `Failed to generate Dockerfile. The folder ${missing} does not exist`,
    );
  });

  it("rejects a file instead of a folder with a coded error naming it", async () => {
    const file = path.join(await tempDir(), "file");
    await writeFile(file, "x");
    await expect(generateDefaultDockerfile(file)).rejects.toThrow(
      `Failed to generate Dockerfile. ${file} is not a folder`,
    );
    await expect(generateDefaultDockerfile(path.join(file, "x"))).rejects.toThrow(/does not exist/);
  });

  it("names the folder that already has a Dockerfile", async () => {
    const folder = await tempDir();
    await writeFile(path.join(folder, "Dockerfile"), "FROM mine\n");
    const error = await generateDefaultDockerfile(folder).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerUtilsError);
    expect((error as Error).message).toMatch(
      /^Failed to generate Dockerfile\. Dockerfile already exists in /,
    );
    expect((error as Error).message).toContain(folder);
    expect((error as Error).message).not.toContain("current directory");
    expect(await readFile(path.join(folder, "Dockerfile"), "utf8")).toBe("FROM mine\n");
  });

  it("keeps Prefect's sentence for the current directory", async () => {
    const folder = await tempDir();
    await writeFile(path.join(folder, "Dockerfile"), "FROM mine\n");
    await inDirectory(folder, async () => {
      await expect(generateDefaultDockerfile()).rejects.toThrow(
        "Failed to generate Dockerfile. Dockerfile already exists in the current directory",
      );
    });
  });

  it("rejects a context that is not a string", async () => {
    await expect(generateDefaultDockerfile(42 as never)).rejects.toThrow(InvalidArgumentError);
  });

  it("refuses a folder name with a control character, which would break the Dockerfile", async () => {
    const folder = path.join(await tempDir(), "flows\nRUN echo INJECTED");
    await mkdir(folder);
    await expect(generateDefaultDockerfile(folder)).rejects.toThrow(/control character/);
  });

  it("writes a folder name with spaces and quotes so the parser and the shell read one path", async () => {
    const folder = path.join(await tempDir(), "it's my $flows");
    await mkdir(folder);
    await writeFile(path.join(folder, "requirements.txt"), "");
    await using generated = await generateDefaultDockerfile(folder);
    expect((await readFile(generated.path, "utf8")).split("\n").slice(1)).toEqual([
      `COPY ["requirements.txt", "/opt/prefect/it\\\\'s my \\\\$flows/requirements.txt"]`,
      `RUN uv pip install -r '/opt/prefect/it'\\''s my $flows/requirements.txt'`,
      `COPY [".", "/opt/prefect/it\\\\'s my \\\\$flows/"]`,
      "WORKDIR /opt/prefect/it\\'s my \\$flows/",
      "",
    ]);
  });
});
