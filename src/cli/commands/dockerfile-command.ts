/**
 * `prefect-dockerutils dockerfile [DIR]`.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateDefaultDockerfile, InvalidArgumentError } from "../../index.js";
import type { CommandContext } from "../run-cli.js";

/** The flags of `dockerfile`. */
export interface DockerfileFlags {
  readonly baseImage?: string;
}

/**
 * Prints the Dockerfile `generateDefaultDockerfile` would write into `dir`, without writing there:
 * it writes into a temporary stand-in of the same name (with `requirements.txt` when `dir` has
 * one, the only other thing it looks at).
 */
export async function dockerfileCommand(
  context: CommandContext,
  dir: string,
  flags: DockerfileFlags = {},
): Promise<void> {
  const { io } = context;
  const directory = path.resolve(io.cwd, dir);
  const info = await stat(directory).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new InvalidArgumentError(`${JSON.stringify(dir)} is not a folder`);
  }
  const name = path.basename(directory);
  if (name === "") {
    throw new InvalidArgumentError("The file-system root cannot be a Prefect build context");
  }
  const parent = await mkdtemp(path.join(tmpdir(), "prefect-dockerutils-dockerfile-"));
  try {
    const standIn = path.join(parent, name);
    await mkdir(standIn);
    if (existsSync(path.join(directory, "requirements.txt"))) {
      await writeFile(path.join(standIn, "requirements.txt"), "");
    }
    await using generated = await generateDefaultDockerfile(
      standIn,
      flags.baseImage === undefined ? {} : { baseImage: flags.baseImage },
    );
    io.stdout.write(await readFile(generated.path, "utf8"));
    if (existsSync(path.join(directory, "Dockerfile"))) {
      io.stderr.write(
        `note: ${dir} already has a Dockerfile, which a build uses as it is (Prefect generates one only where there is none)\n`,
      );
    }
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}
