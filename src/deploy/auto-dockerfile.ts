/**
 * `dockerfile: "auto"` for the deploy side: Prefect's default Dockerfile, made for the build
 * context (not the current directory) and kept out of the user's folder.
 * @module
 */
import { constants } from "node:fs";
import { lstat, mkdtemp, open, realpath, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { defaultDockerfileLines, dockerfileText } from "../prefect/dockerfile.js";
import { getPrefectImageName } from "../prefect/prefect-image.js";
import { registryOfImage } from "../reference/image-reference.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Options of {@link autoDockerfileLines}. */
export interface AutoDockerfileOptions {
  /** The image the Dockerfile starts `FROM`. @default getPrefectImageName() */
  readonly baseImage?: string | undefined;
}

/**
 * {@link defaultDockerfileLines} for `context`: `requirements.txt` looked for in the context and
 * `/opt/prefect/<dir>` named after the context's folder (Prefect uses the current directory for
 * both).
 *
 * @throws InvalidArgumentError when the folder's name holds control characters or `baseImage` is
 *   not an image reference.
 */
export async function autoDockerfileLines(
  context: string,
  options: AutoDockerfileOptions = {},
): Promise<string[]> {
  const baseImage = options.baseImage ?? getPrefectImageName();
  if (typeof baseImage !== "string" || CONTROL.test(baseImage) || /\s/.test(baseImage)) {
    throw new InvalidArgumentError(
      `baseImage must be an image reference such as "prefecthq/prefect:3-latest", got ${JSON.stringify(baseImage)}`,
    );
  }
  registryOfImage(baseImage);
  const folder = path.resolve(context);
  const dirName = path.basename(folder);
  if (CONTROL.test(dirName)) {
    throw new InvalidArgumentError(
      `The build context's folder name ${JSON.stringify(dirName)} contains control characters, which cannot be written into /opt/prefect/<folder> in a Dockerfile; rename the folder`,
    );
  }
  // Python's `Path.exists()`: links followed.
  const requirements = await stat(path.join(folder, "requirements.txt")).then(Boolean, () => false);
  return defaultDockerfileLines(baseImage, dirName, requirements);
}

/** How {@link withDockerfile} makes `dockerfile: "auto"`. */
export interface AutoDockerfile {
  /** The message when the context already has a `Dockerfile`. */
  readonly refusal: string;
  readonly baseImage: string | undefined;
  /** Also writes the lines elsewhere (`persist_dockerfile`). */
  readonly persist?: ((lines: readonly string[]) => Promise<void>) | undefined;
}

/**
 * Runs `build` with `dockerfile`, or for `"auto"` with Prefect's generated Dockerfile written into
 * a private temporary folder (mode 0700) that is removed afterwards whatever happens. A Dockerfile
 * outside the context is sent under a generated name and kept out of `COPY .`, so nothing is ever
 * written into the user's folder.
 *
 * @throws InvalidArgumentError with `auto.refusal` when the context has a `Dockerfile` (a symlink,
 *   even a dangling one, counts): Prefect refuses then, since `COPY .` would copy it too.
 */
export async function withDockerfile<T>(
  context: string,
  dockerfile: string,
  auto: AutoDockerfile,
  build: (dockerfile: string) => Promise<T>,
): Promise<T> {
  if (dockerfile !== "auto") return build(dockerfile);
  if (await lstat(path.join(path.resolve(context), "Dockerfile")).then(Boolean, () => false)) {
    throw new InvalidArgumentError(auto.refusal);
  }
  const lines = await autoDockerfileLines(context, { baseImage: auto.baseImage });
  await auto.persist?.(lines);
  const folder = await mkdtemp(path.join(tmpdir(), "prefect-dockerutils-auto-"));
  try {
    const file = path.join(folder, "Dockerfile");
    await writeFile(file, dockerfileText(lines), { flag: "wx", mode: 0o600 });
    return await build(file);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Writes `persist_dockerfile`'s copy to `outputPath`, relative to `project`, replacing an earlier
 * one as Prefect does. A path that leads out of the project (`..`, an absolute path, a symlinked
 * folder) is refused before anything is opened; the file itself must be a regular file or absent.
 *
 * @throws InvalidArgumentError naming `dockerfile_output_path` and what to do.
 */
export async function persistDockerfile(
  project: string,
  outputPath: string,
  lines: readonly string[],
): Promise<void> {
  const refuse = (why: string, cause?: unknown) =>
    new InvalidArgumentError(
      `Cannot persist the auto-generated Dockerfile to dockerfile_output_path ${JSON.stringify(outputPath)}: ${why}; choose another dockerfile_output_path inside the build context`,
      cause === undefined ? undefined : { cause },
    );
  const base = path.resolve(project);
  // Lexically first, as copy() resolves its sources: `..` never climbs through a link.
  const target = path.resolve(base, outputPath);
  const leaves = (relative: string) =>
    relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  const lexical = path.relative(base, target);
  if (lexical === "" || leaves(lexical)) {
    throw refuse(`it is not inside the build context ${base}`);
  }
  let realProject: string;
  let realParent: string;
  try {
    realProject = await realpath(base);
  } catch (cause) {
    throw refuse(`the build context ${base} cannot be resolved (${describeCode(cause)})`, cause);
  }
  const parent = path.dirname(target);
  try {
    realParent = await realpath(parent);
  } catch (cause) {
    throw refuse(
      (cause as NodeJS.ErrnoException).code === "ENOENT"
        ? `the folder ${parent} does not exist`
        : `the folder ${parent} cannot be resolved (${describeCode(cause)})`,
      cause,
    );
  }
  if (leaves(path.relative(realProject, realParent))) {
    throw refuse(
      `${parent} leads through a symlink to ${realParent}, outside the build context ${realProject}`,
    );
  }
  const file = path.join(realParent, path.basename(target));
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(
      file,
      // O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead of hanging.
      constants.O_WRONLY |
        constants.O_CREAT |
        constants.O_TRUNC |
        constants.O_NOFOLLOW |
        constants.O_NONBLOCK,
      0o644,
    );
  } catch (cause) {
    const why = new Map([
      ["ELOOP", "it is a symbolic link"],
      ["EISDIR", "it is a folder"],
      ["ENXIO", "it is a FIFO or socket"],
    ]).get((cause as NodeJS.ErrnoException).code ?? "");
    throw refuse(`${file}: ${why ?? (cause as Error).message}`, cause);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw refuse(`${file}: it is not a regular file`);
    await handle.writeFile(dockerfileText(lines));
  } finally {
    await handle.close();
  }
}

/** A file system error as messages show it: its code, else its message. */
function describeCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}
