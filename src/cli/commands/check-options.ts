/**
 * Checking a library call's arguments and options without making the call.
 * @module
 */

/**
 * Runs `operation` with a signal that is already aborted and resolves when it rejects with that
 * signal's reason. `buildImage` and `pushImage` check every argument and option first, before they
 * read or send anything, and look at the signal right after (as their documentation says): so a
 * bad value rejects with its `InvalidArgumentError`, which is rethrown, and good ones reach the
 * signal, and nothing is read or sent either way. The command line runs this before any engine
 * work, so that `build --push bad-url` fails before building.
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
