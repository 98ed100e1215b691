import { lstat, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { BuildContextError, InvalidArgumentError } from "../errors.js";
import { parseImageReference } from "../reference/image-reference.js";
import { controlCharacter, optionsObject, show } from "../validate.js";
import { defaultDockerfileLines, dockerfileText } from "./dockerfile.js";
import { resolvePrefectImageName } from "./prefect-image.js";

/** Options of {@link generateDefaultDockerfile}. */
export interface DefaultDockerfileOptions {
  /**
   * The image the Dockerfile starts `FROM`, e.g. `python:3.12-slim` with Prefect installed.
   * @default resolvePrefectImageName(): Prefect's image for the local Python
   */
  readonly baseImage?: string;
}

/** A Dockerfile written by {@link generateDefaultDockerfile}; disposing it removes the file. */
export interface GeneratedDockerfile extends AsyncDisposable {
  /** Where the Dockerfile was written: `<context>/Dockerfile`. */
  readonly path: string;
}

const FAILED = "Failed to generate Dockerfile.";

/**
 * Writes Prefect's default Dockerfile for deploying flows into `context` (`FROM` Prefect's image,
 * `requirements.txt` installed with `uv pip` when there is one, the folder copied to
 * `/opt/prefect/<dir>/` and made the `WORKDIR`) and resolves to a handle whose disposal removes
 * it. The text is Prefect's byte for byte, except that a folder name the parser or shell would
 * split is written so it reads back as one path.
 *
 * @param context - The folder to write the Dockerfile into. @default process.cwd()
 * @throws InvalidArgumentError when `context` is no folder, already has a Dockerfile (never
 *   overwritten) or a name with control characters, or `baseImage` is no image reference;
 *   BuildContextError when the Dockerfile cannot be written. Each message starts with Prefect's
 *   `Failed to generate Dockerfile.`
 * @example
 * ```ts
 * await using dockerfile = await generateDefaultDockerfile("./my-flows");
 * const imageId = await buildImage("./my-flows");
 * ```
 */
export async function generateDefaultDockerfile(
  context?: string,
  options: DefaultDockerfileOptions = {},
): Promise<GeneratedDockerfile> {
  const directory = normalizeContext(context);
  const baseImage = baseImageOption(optionsObject("options", options).baseImage);
  const dirName = path.basename(directory);
  await checkFolder(directory);

  const lines = defaultDockerfileLines(
    baseImage ?? (await resolvePrefectImageName()),
    dirName,
    await exists(path.join(directory, "requirements.txt")),
  );

  const dockerfile = path.join(directory, "Dockerfile");
  const refuse = (cause?: unknown) =>
    new InvalidArgumentError(
      `${FAILED} Dockerfile already exists in ${
        directory === process.cwd() ? `the current directory (${directory})` : directory
      }; remove or rename it, or build with that Dockerfile`,
      cause === undefined ? undefined : { cause },
    );
  if (await exists(dockerfile)) throw refuse();
  try {
    // "wx" so that a Dockerfile appearing since the check above is never overwritten.
    await writeFile(dockerfile, dockerfileText(lines), { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw refuse(error);
    throw new BuildContextError(
      `${FAILED} Cannot write ${dockerfile}: ${(error as Error).message}`,
      dockerfile,
      { cause: error },
    );
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

/** `baseImage`, an image reference: nothing else may follow `FROM` on its line. */
function baseImageOption(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    if (typeof value !== "string") throw new TypeError("not a string");
    parseImageReference(value);
  } catch (cause) {
    throw new InvalidArgumentError(
      `${FAILED} baseImage must be an image reference such as "python:3.12-slim", got ${show(value)}`,
      { cause },
    );
  }
  return value;
}

/** The `context` argument, checked and resolved before anything is read. */
function normalizeContext(context: unknown): string {
  if (context === undefined || context === null || context === "") return process.cwd();
  if (typeof context !== "string") {
    throw new InvalidArgumentError(
      `${FAILED} context must be the path of a folder (a string), got ${show(context)}`,
    );
  }
  const directory = path.resolve(context);
  const control = controlCharacter(path.basename(directory));
  if (control !== undefined) {
    throw new InvalidArgumentError(
      `${FAILED} The folder name of ${JSON.stringify(directory)} has a control character (${control}), which would break the Dockerfile; rename the folder`,
    );
  }
  return directory;
}

async function checkFolder(directory: string): Promise<void> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(directory)).isDirectory();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(
      `${FAILED} The folder ${directory} ${
        code === "ENOENT" || code === "ENOTDIR"
          ? "does not exist"
          : `cannot be read (${code ?? String(cause)})`
      }`,
      { cause },
    );
  }
  if (!isFolder) {
    throw new InvalidArgumentError(`${FAILED} ${directory} is not a folder`);
  }
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}
