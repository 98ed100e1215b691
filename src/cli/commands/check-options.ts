/**
 * Checking a library call's arguments and options without making the call.
 * @module
 */

/**
 * Runs `operation` with an aborted signal: the library checks every argument and option before
 * it looks at the signal, so a bad value rejects with its `InvalidArgumentError` (rethrown) and
 * nothing is read or sent either way. So `build --push bad-url` fails before building.
 */
export async function checkOptions(
  operation: (signal: AbortSignal) => Promise<unknown>,
): Promise<void> {
  const checked = new Error("the options were checked");
  try {
    await operation(AbortSignal.abort(checked));
  } catch (error) {
    if (error === checked) return;
    throw error;
  }
  throw new Error("BUG: an operation ran to its end with an aborted signal");
}
