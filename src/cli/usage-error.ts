/**
 * The command line's own usage errors: a flag whose syntax does not parse (`--secret id=x`), or
 * flags that need each other (`--push` without `-t`). They print the command's usage; a value that
 * parses but is wrong (a reference, a path, a variable that is not set) prints the error alone.
 * @module
 */
import { InvalidArgumentError } from "../index.js";

/** A usage error of the command line (see the module). */
export class UsageError extends InvalidArgumentError {}
