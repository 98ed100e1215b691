/**
 * Reading a registry's `WWW-Authenticate` challenges (RFC 7235), e.g. `Basic realm="..."` or
 * `Bearer realm="https://auth.example/token",service="...",scope="..."`.
 * @module
 */

/** One challenge of a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** The scheme in lower case, e.g. `basic` or `bearer`. */
  readonly scheme: string;
  /** The parameters by lower-case name, e.g. `realm`, `service`, `scope`, `error`. */
  readonly params: ReadonlyMap<string, string>;
}

/** Longest header value read; a registry's challenge is a few hundred characters. */
const MAX_VALUE_CHARS = 16 * 1024;
const MAX_VALUES = 16;
const MAX_CHALLENGES = 16;
const MAX_PARAMS = 32;

// RFC 7230 tchar: a token is one or more of these.
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * The challenges of `WWW-Authenticate` header values, in order; a value may hold several
 * (`Basic realm="a", Bearer realm="b"`). Malformed parts are skipped, never thrown on.
 *
 * Written by hand (one linear left-to-right scan, every size bounded): the npm parsers of this
 * header are regular expressions with nested quantifiers, and read one challenge per value.
 */
export function parseAuthChallenges(
  values: readonly string[] | string | undefined,
): AuthChallenge[] {
  const list = values === undefined ? [] : typeof values === "string" ? [values] : values;
  const challenges: AuthChallenge[] = [];
  for (const value of list.slice(0, MAX_VALUES)) {
    if (typeof value !== "string") continue;
    for (const challenge of scan(value.slice(0, MAX_VALUE_CHARS))) {
      if (challenges.length >= MAX_CHALLENGES) return challenges;
      challenges.push(challenge);
    }
  }
  return challenges;
}

function scan(text: string): AuthChallenge[] {
  const found: AuthChallenge[] = [];
  let i = 0;
  const skip = (chars: string) => {
    while (i < text.length && chars.includes(text[i] as string)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < text.length && TOKEN_CHAR.test(text[i] as string)) i++;
    return text.slice(start, i);
  };
  const quoted = (): string => {
    // At the opening quote. An unterminated string runs to the end of the value.
    i++;
    let value = "";
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\" && i + 1 < text.length) i++;
      value += text[i];
      i++;
    }
    i++;
    return value;
  };
  while (i < text.length) {
    skip(" \t,");
    const scheme = token();
    if (scheme === "") {
      // Not a token: skip to the next comma, where the next challenge may start.
      while (i < text.length && text[i] !== ",") i++;
      continue;
    }
    const params = new Map<string, string>();
    for (;;) {
      skip(" \t");
      const start = i;
      const name = token();
      skip(" \t");
      if (name === "" || text[i] !== "=") {
        // A token not followed by "=" starts the next challenge (or is a token68 credential,
        // which neither Basic nor Bearer challenges carry).
        i = name === "" ? i : start;
        break;
      }
      i++;
      skip(" \t");
      const value = text[i] === '"' ? quoted() : token();
      const key = name.toLowerCase();
      if (params.size < MAX_PARAMS && !params.has(key)) params.set(key, value);
      skip(" \t");
      if (text[i] !== ",") break;
      i++;
    }
    found.push({ scheme: scheme.toLowerCase(), params });
    // What is left up to the next comma is not part of this challenge.
    skip(" \t");
    if (i < text.length && text[i] !== "," && !TOKEN_CHAR.test(text[i] as string)) {
      while (i < text.length && text[i] !== ",") i++;
    }
  }
  return found;
}
