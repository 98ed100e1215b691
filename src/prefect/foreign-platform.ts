/**
 * What a build for another platform than the engine's needs: RUN steps of a foreign platform run
 * only under emulation (binfmt_misc with QEMU) on the engine's host. Without it the kernel refuses
 * the platform's programs with `exec format error`, which the engine reports as a failed RUN.
 * @module
 */
import { BuildError } from "../errors.js";

const EXEC_FORMAT_ERROR = /exec format error/i;

/**
 * The build error, explained when the engine's text (or the failed step's output) says `exec
 * format error`: the message names the platform and what the engine's host needs. Any other error
 * is returned as it is.
 *
 * @param platform - the platform the build was for, e.g. `linux/arm64` (`undefined`: the
 *   engine's own, when a base image of another platform is the cause).
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
