/**
 * `prefect-dockerutils image-name`.
 * @module
 */
import { InvalidArgumentError, resolvePrefectImageName } from "../../index.js";
import type { CommandContext } from "../run-cli.js";

/** The flags of `image-name`. */
export interface ImageNameFlags {
  readonly prefectVersion?: string;
  readonly pythonVersion?: string;
  readonly flavor?: string;
}

/** Prints the Prefect base image name, as `resolvePrefectImageName` finds it. */
export async function imageNameCommand(
  context: CommandContext,
  flags: ImageNameFlags,
): Promise<void> {
  if (flags.pythonVersion !== undefined && !/^\d+\.\d+$/.test(flags.pythonVersion)) {
    throw new InvalidArgumentError(
      `--python-version must be MAJOR.MINOR such as 3.12, got ${JSON.stringify(flags.pythonVersion)}`,
    );
  }
  context.io.stdout.write(
    `${await resolvePrefectImageName(flags.prefectVersion, flags.pythonVersion, flags.flavor, {
      cwd: context.io.cwd,
      signal: context.signal,
    })}\n`,
  );
}
