import nodeFs from "node:fs";
import { MAX_CONTROL_FILE_BYTES } from "../defaults.js";
import { BuildContextError } from "../errors.js";
import { type BuildContextFs, describe, isMissing, OPEN_FLAGS } from "./context-fs.js";

function kindName(stats: nodeFs.Stats): string {
  if (stats.isDirectory()) return "folder";
  if (stats.isFIFO()) return "FIFO";
  if (stats.isSocket()) return "socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "device";
  if (stats.isSymbolicLink()) return "symlink";
  return "special file";
}

/**
 * The content of the regular file `file` (a Dockerfile or `.dockerignore`), or `undefined` when
 * it does not exist. Opened with {@link OPEN_FLAGS} and checked with `fstat`, so a symlink, FIFO
 * or device fails at once instead of being followed, hanging or streaming forever.
 * @param what What the file is, for messages ("Dockerfile", ".dockerignore").
 * @throws BuildContextError for anything but a readable regular file of at most `maxBytes`.
 */
export function readControlFile(
  fs: BuildContextFs,
  file: string,
  what: string,
  maxBytes = MAX_CONTROL_FILE_BYTES,
): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (error) {
    if (isMissing(error)) return undefined;
    const why =
      (error as NodeJS.ErrnoException).code === "ELOOP"
        ? "it is a symlink, and symlinks are not followed here"
        : describe(error);
    throw new BuildContextError(`cannot read the ${what} ${file}: ${why}`, file, { cause: error });
  }
  try {
    const stats = (fs.fstatSync ?? nodeFs.fstatSync)(fd);
    if (!stats.isFile()) {
      throw new BuildContextError(
        `cannot read the ${what} ${file}: it is a ${kindName(stats)}, not a regular file`,
        file,
      );
    }
    const tooBig = () =>
      new BuildContextError(
        `cannot read the ${what} ${file}: it is larger than ${maxBytes} bytes, the most a ${what} may have`,
        file,
      );
    if (stats.size > maxBytes) throw tooBig();
    // Read to the end, not to the size fstat saw: the file may grow meanwhile, within the bound.
    let buffer = Buffer.allocUnsafe(stats.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw tooBig();
        const grown = Buffer.allocUnsafe(Math.min(length * 2, maxBytes + 1));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const read = fs.readSync(fd, buffer, length, buffer.length - length, length);
      if (read === 0) break;
      length += read;
    }
    if (length > maxBytes) throw tooBig();
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof BuildContextError) throw error;
    throw new BuildContextError(`cannot read the ${what} ${file}: ${describe(error)}`, file, {
      cause: error,
    });
  } finally {
    fs.closeSync(fd);
  }
}
