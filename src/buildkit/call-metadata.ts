/**
 * The metadata of a call the engine makes on the session (its HTTP/2 request headers), read as
 * BuildKit's file-sync server reads it (`encodeOpts`/`decodeOpts` in session/filesync/filesync.go):
 * a key sent several times is a list, never split on `,`; values are bytes (20.10 sends a
 * non-ASCII `.dockerignore` line as raw UTF-8); newer BuildKit percent-encodes every value of a
 * key and says so with `<key>-encoded: 1`.
 * @module
 */
import { BuildContextError } from "../errors.js";
import { parseGoBool } from "../validate.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

function unreadable(key: string, why: string): BuildContextError {
  return new BuildContextError(
    `the engine's ${key} metadata cannot be read (${why}), so the files it asks for cannot be told apart from those it excludes: nothing is sent; rebuild with a .dockerignore saved as UTF-8, or report the engine's version`,
    key,
  );
}

/** Go's url.QueryUnescape: `+` is a space, `%XX` a byte; anything else after `%` is an error. */
function queryUnescape(key: string, value: string): Buffer {
  const bad = value.search(/%(?![0-9a-fA-F]{2})/);
  if (bad !== -1) throw unreadable(key, `invalid escape "${value.slice(bad, bad + 3)}"`);
  if (/[\u0100-\uffff]/.test(value)) {
    throw unreadable(key, "a percent-encoded value holds a character beyond one byte");
  }
  const latin1 = value
    .replaceAll("+", " ")
    .replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
  return Buffer.from(latin1, "latin1");
}

function decodeUtf8(key: string, bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    // A pattern read with replacement characters would match other names than the engine's.
    throw unreadable(key, "a value is not valid UTF-8");
  }
}

/**
 * The values of each key of one call, from the request's raw header list (Node's `rawHeaders`:
 * names and values alternating, each value a Latin-1 string holding the header's bytes).
 */
export class CallMetadata {
  readonly #raw = new Map<string, string[]>();

  constructor(rawHeaders: readonly string[]) {
    for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
      const name = (rawHeaders[index] as string).toLowerCase();
      if (name.startsWith(":")) continue;
      let values = this.#raw.get(name);
      if (values === undefined) {
        values = [];
        this.#raw.set(name, values);
      }
      values.push(rawHeaders[index + 1] as string);
    }
  }

  /**
   * The values of `key`, in the order sent, decoded as BuildKit decodes them.
   * @throws BuildContextError when a value is not UTF-8 or has a bad percent escape, or the
   *   `<key>-encoded` flag is neither true nor false. Callers that filter files with the values
   *   must then refuse the call (fail closed).
   */
  values(key: string): string[] {
    const raw = this.#raw.get(key) ?? [];
    const flag = this.#raw.get(`${key}-encoded`)?.[0];
    const encoded = flag === undefined ? false : parseGoBool(flag);
    if (encoded === undefined) throw unreadable(key, `${key}-encoded is ${JSON.stringify(flag)}`);
    return raw.map((value) =>
      decodeUtf8(key, encoded ? queryUnescape(key, value) : Buffer.from(value, "latin1")),
    );
  }

  /** The first value of `key`, if any. */
  first(key: string): string | undefined {
    return this.values(key)[0];
  }
}
