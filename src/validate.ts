/**
 * The option checks every entry point runs before any I/O: messages name the option, the value
 * and what to pass instead (as execa's do).
 * @module
 */
import { InvalidArgumentError } from "./errors.js";

/** The most characters of a string a message shows: a hostile caller's value may be huge. */
const SHOWN_CHARS = 100;

/** A value as messages show it: JSON where it can be (a long string cut, with its length). */
export function show(value: unknown): string {
  if (typeof value === "string") {
    if (value.length <= SHOWN_CHARS) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, SHOWN_CHARS))}... (${value.length} characters)`;
  }
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  if (value === undefined) return "undefined";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  return `a value of type ${typeof value}`;
}

/**
 * A value that may be secret (secrets, build arguments, logins, environments) as messages show
 * it: its kind only, so a token never ends up in a CI log.
 */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** The `--secret` fields whose values say where the secret is, not what it is. */
const SECRET_ENTRY_FIELDS = new Set(["id", "src", "source", "env", "type"]);

/** A `--secret` entry as messages show it: `…` for every value but `id`, `src`, `env`, `type`. */
export function redactSecretEntry(entry: string): string {
  return entry
    .split(",")
    .map((part) => {
      const equals = part.indexOf("=");
      const field = equals <= 0 ? "" : part.slice(0, equals).trim().toLowerCase();
      if (field === "") return "…";
      const value = part.slice(equals + 1);
      return SECRET_ENTRY_FIELDS.has(field) && !value.includes("=") ? part : `${field}=…`;
    })
    .join(",");
}

/**
 * The options argument: `undefined` becomes `{}`, anything but a plain object throws (so
 * `pushImage(id, url, name, "v1")` does not silently ignore the tag).
 */
export function optionsObject<T extends object>(name: string, value: T | undefined): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidArgumentError(
      `${name} must be an options object such as { tag: "v1" }, got ${show(value)}`,
    );
  }
  return value;
}

/** Options of {@link integerOption}. */
export interface IntegerRange {
  readonly min: number;
  readonly max: number;
}

/** A whole number in `[min, max]`, or `fallback` when absent. */
export function integerOption(
  name: string,
  value: unknown,
  fallback: number,
  range: IntegerRange,
): number {
  return rangeOption(name, value, fallback, range, Number.isInteger, "a whole number");
}

/** A finite number in `[min, max]`, or `fallback` when absent. */
export function numberOption(
  name: string,
  value: unknown,
  fallback: number,
  range: IntegerRange,
): number {
  return rangeOption(name, value, fallback, range, Number.isFinite, "a number");
}

/** A number of the kind `accepts` admits (`what` in messages) in `[min, max]`, or `fallback`. */
function rangeOption(
  name: string,
  value: unknown,
  fallback: number,
  range: IntegerRange,
  accepts: (value: number) => boolean,
  what: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !accepts(value)) {
    throw new InvalidArgumentError(
      `${name} must be ${what} from ${range.min} to ${range.max}, got ${show(value)}`,
    );
  }
  if (value < range.min || value > range.max) {
    throw new InvalidArgumentError(
      `${name} must be from ${range.min} to ${range.max}, got ${value}`,
    );
  }
  return value;
}

/** A boolean, or `fallback` when absent. */
export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new InvalidArgumentError(`${name} must be true or false, got ${show(value)}`);
  }
  return value;
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * A boolean as Go's `strconv.ParseBool` reads it (how the docker CLI reads `DOCKER_BUILDKIT` and
 * BuildKit its `<key>-encoded` metadata); `undefined` for any other spelling.
 */
export function parseGoBool(value: string): boolean | undefined {
  if (GO_TRUE.has(value)) return true;
  return GO_FALSE.has(value) ? false : undefined;
}

/** A non-empty string, or `undefined` when absent. */
export function stringOption(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new InvalidArgumentError(`${name} must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

/** One of `allowed`, or `fallback` when absent. */
export function enumOption<const T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `${name} must be one of ${allowed.map((item) => JSON.stringify(item)).join(", ")}, got ${show(value)}`,
    );
  }
  return value as T;
}

/** A function, or `undefined` when absent. */
export function functionOption<T extends (...args: never[]) => unknown>(
  name: string,
  value: unknown,
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") {
    throw new InvalidArgumentError(`${name} must be a function, got ${show(value)}`);
  }
  return value as T;
}

/** An `AbortSignal`, or `undefined` when absent. */
export function signalOption(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) {
    throw new InvalidArgumentError(
      `${name} must be an AbortSignal (e.g. AbortSignal.timeout(60_000)), got ${show(value)}`,
    );
  }
  return value;
}

/** A record of strings, or `undefined`; a bad value is shown by its kind (it may be a token). */
export function stringRecordOption(
  name: string,
  value: unknown,
): Readonly<Record<string, string>> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidArgumentError(
      `${name} must be an object of strings such as { KEY: "value" }, got ${kindOf(value)}`,
    );
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") {
      throw new InvalidArgumentError(
        `${name}[${JSON.stringify(key)}] must be a string, got ${kindOf(item)}; write ${name}: { ${JSON.stringify(key)}: "..." }`,
      );
    }
  }
  return value as Readonly<Record<string, string>>;
}

/** An array of non-empty strings (cache sources, ...), or `undefined` when absent. */
export function stringArrayOption(name: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw new InvalidArgumentError(
      `${name} must be an array of strings such as ["my-app:latest"], got ${show(value)}`,
    );
  }
  for (const [index, item] of value.entries()) {
    if (typeof item !== "string" || item === "") {
      throw new InvalidArgumentError(
        `${name}[${index}] must be a non-empty string, got ${show(item)}`,
      );
    }
  }
  return value as readonly string[];
}

/** A plain object, or `undefined`; a bad value is shown by its kind (logins, secrets). */
export function objectOption<T extends object>(
  name: string,
  value: unknown,
  example: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidArgumentError(`${name} must be ${example}, got ${kindOf(value)}`);
  }
  return value as T;
}

/** Something with a `write()` method (a Node `Writable` such as `process.stdout`), or `undefined`. */
export function writableOption<T extends { write: unknown }>(
  name: string,
  value: unknown,
): T | undefined {
  if (value === undefined) return undefined;
  if (
    value === null ||
    typeof value !== "object" ||
    typeof (value as { write?: unknown }).write !== "function"
  ) {
    throw new InvalidArgumentError(
      `${name} must be a writable stream such as process.stdout, got ${show(value)}`,
    );
  }
  return value as T;
}

/** The first control character (C0, DEL, C1) in `value` as `\uXXXX`: it breaks Dockerfile lines. */
export function controlCharacter(value: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  const found = /[\u0000-\u001f\u007f-\u009f]/.exec(value)?.[0];
  return found === undefined
    ? undefined
    : `\\u${found.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
