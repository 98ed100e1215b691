/**
 * RUN steps of a platform other than the engine's run only under emulation (binfmt_misc with
 * QEMU); without it the kernel answers `exec format error`, reported as a failed RUN.
 * @module
 */
import { BuildError } from "../errors.js";

const EXEC_FORMAT_ERROR = /exec format error/i;

/**
 * A build error whose text or log tail says `exec format error`, explained with the platform
 * (`undefined`: the engine's own) and what the engine's host needs; any other error as it is.
 */
export function explainExecFormatError(error: unknown, platform: string | undefined): unknown {
  if (!(error instanceof BuildError)) return error;
  const texts = [error.message, ...error.logTail];
  if (!texts.some((text) => EXEC_FORMAT_ERROR.test(text))) return error;
  const which = platform ?? "a platform other than the engine's";
  return new BuildError(
    `${error.message} (exec format error: a RUN step of ${which} cannot run on the engine's host, which has no emulation for it. RUN steps of another platform need binfmt_misc with QEMU on the engine's host, e.g. \`docker run --privileged --rm tonistiigi/binfmt --install all\` or the qemu-user-static package; COPY-only stages build for any platform without it)`,
    { statusCode: error.statusCode, step: error.step, logTail: error.logTail, cause: error },
  );
}
