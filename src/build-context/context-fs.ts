import nodeFs from "node:fs";
import path from "node:path";

/**
 * The synchronous `node:fs` functions the context reader uses; pass your own to test failure
 * paths or read a virtual file system. Without `fstatSync`, `node:fs`'s is used.
 */
export type BuildContextFs = Pick<
  typeof nodeFs,
  | "readdirSync"
  | "lstatSync"
  | "statSync"
  | "readlinkSync"
  | "realpathSync"
  | "readFileSync"
  | "openSync"
  | "readSync"
  | "closeSync"
> &
  Partial<Pick<typeof nodeFs, "fstatSync">>;

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = nodeFs.constants;

/**
 * How every file of a context is opened: never through a symlink (`O_NOFOLLOW`), and never
 * blocking on a FIFO swapped in after the file was listed (`O_NONBLOCK`).
 */
export const OPEN_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/** Whether `relative` (from `path.relative`) names something strictly inside its base. */
export function isInside(relative: string): boolean {
  return (
    relative !== "" &&
    relative !== ".." &&
    !relative.startsWith(`..${path.sep}`) &&
    !path.isAbsolute(relative)
  );
}

/** Whether `error` says the path does not exist. */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** An error's message, for wrapping it in ours. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
