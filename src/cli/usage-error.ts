/**
 * The command line's usage errors.
 * @module
 */
import { InvalidArgumentError } from "../index.js";

/**
 * A flag that does not parse (`--secret id=x`) or flags that need each other (`--push` without
 * `-t`): printed with the usage, unlike a value that parses but is wrong.
 */
export class UsageError extends InvalidArgumentError {}
