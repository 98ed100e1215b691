/**
 * `prefect-dockerutils image-name`.
 * @module
 */
import { getPrefectImageName, InvalidArgumentError } from "../../index.js";
import type { CommandContext } from "../run-cli.js";

/** The flags of `image-name`. */
export interface ImageNameFlags {
  readonly prefectVersion?: string;
  readonly pythonVersion?: string;
  readonly flavor?: string;
}

/** Prints the Prefect base image name, as `get_prefect_image_name` gives it. */
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
    `${getPrefectImageName(flags.prefectVersion, flags.pythonVersion, flags.flavor)}\n`,
  );
}
