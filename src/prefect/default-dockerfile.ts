/**
 * Prefect's default Dockerfile for deploying flows.
 * @module
 */
import { existsSync } from "node:fs";
import { unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { purePosixName } from "../python/pure-posix-path.js";
import { getPrefectImageName } from "./prefect-image.js";

/** A Dockerfile written by {@link generateDefaultDockerfile}; disposing it removes the file. */
export interface GeneratedDockerfile extends AsyncDisposable {
  /** Where the Dockerfile was written: `<context>/Dockerfile`. */
  readonly path: string;
}

/**
 * Writes Prefect's default Dockerfile for deploying flows into `context` and resolves to a handle
 * whose disposal removes it again:
 *
 * ```dockerfile
 * FROM prefecthq/prefect:<version>-python<x.y>
 * COPY requirements.txt /opt/prefect/<dir>/requirements.txt        # only with requirements.txt
 * RUN uv pip install -r /opt/prefect/<dir>/requirements.txt        # only with requirements.txt
 * COPY . /opt/prefect/<dir>/
 * WORKDIR /opt/prefect/<dir>/
 * ```
 *
 * Refuses (rejects) when `context` already has a Dockerfile: it is never overwritten.
 *
 * @param context - The folder to write the Dockerfile into. @default process.cwd()
 * @example
 * ```ts
 * await using dockerfile = await generateDefaultDockerfile("./my-flows");
 * const imageId = await buildImage("./my-flows");
 * ```
 */
export async function generateDefaultDockerfile(
  context: string = process.cwd(),
): Promise<GeneratedDockerfile> {
  const directory = context || process.cwd();
  const lines = [`FROM ${getPrefectImageName()}`];
  const dirName = purePosixName(directory);
  if (existsSync(path.join(directory, "requirements.txt"))) {
    lines.push(`COPY requirements.txt /opt/prefect/${dirName}/requirements.txt`);
    lines.push(`RUN uv pip install -r /opt/prefect/${dirName}/requirements.txt`);
  }
  lines.push(`COPY . /opt/prefect/${dirName}/`);
  lines.push(`WORKDIR /opt/prefect/${dirName}/`);

  const dockerfile = path.join(directory, "Dockerfile");
  const refuse = (cause?: unknown) =>
    new Error(
      "Failed to generate Dockerfile. Dockerfile already exists in the current directory.",
      cause === undefined ? undefined : { cause },
    );
  if (existsSync(dockerfile)) throw refuse();
  try {
    // "wx" so that a Dockerfile appearing since the check above is never overwritten.
    await writeFile(dockerfile, lines.map((line) => `${line}\n`).join(""), { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw refuse(error);
    throw error;
  }
  let removed = false;
  return {
    path: dockerfile,
    async [Symbol.asyncDispose]() {
      if (removed) return;
      removed = true;
      await unlink(dockerfile).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    },
  };
}
