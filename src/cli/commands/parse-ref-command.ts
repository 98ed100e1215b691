/**
 * `prefect-dockerutils parse-ref REF`.
 * @module
 */
import { parseImageReference } from "../../index.js";
import type { CommandContext } from "../run-cli.js";

/**
 * Prints the parsed reference as JSON, every field present: an absent tag or digest is `null`.
 */
export async function parseRefCommand(context: CommandContext, reference: string): Promise<void> {
  const parsed = parseImageReference(reference);
  context.io.stdout.write(
    `${JSON.stringify({ ...parsed, tag: parsed.tag ?? null, digest: parsed.digest ?? null }, null, 2)}\n`,
  );
}
