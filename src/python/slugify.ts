/**
 * python-slugify's `slugify` for the two calls Prefect's dockerutils makes: the default push tag
 * ({@link timestampTag}) and `get_prefect_image_name`'s tag ({@link slugifyImageTag}).
 *
 * Both take text that is ASCII once decomposed (NFKD) and stripped of combining accents, without
 * HTML character references: there python-slugify's transliteration and reference decoding
 * change nothing, so the steps left are the ones below, in its order. Other text is refused: it
 * would need `unidecode`'s table, which no caller's input (a timestamp, a version, a flavor) needs.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";
import { show } from "../validate.js";

const ASCII = /^\p{ASCII}*$/u;
/** The combining diacritical marks, which Python's Unidecode drops after NFKD. */
const COMBINING_ACCENTS = /[\u0300-\u036f]/g;
const CHARACTER_REFERENCE = /&#?[A-Za-z0-9]+;/;
const QUOTES = /'+/g;
const COMMA_BETWEEN_DIGITS = /(?<=[0-9]),(?=[0-9])/g;
/** python-slugify's default `regex_pattern`. */
const NOT_SLUG = /[^-a-zA-Z0-9]+/g;
/** The `regex_pattern` Prefect passes for image tags: the characters Docker allows in tags. */
const NOT_TAG = /[^a-zA-Z0-9_.-]+/g;
/** Docker's longest tag, Prefect's `max_length` for image tags. */
const MAX_TAG_LENGTH = 128;
const DASHES = /-{2,}/g;
const EDGE_DASHES = /^-+|-+$/g;

/** python-slugify's first steps: quotes become the separator, then NFKD without accents. */
function decompose(text: string): string {
  return text.replace(QUOTES, "-").normalize("NFKD").replace(COMBINING_ACCENTS, "");
}

/** Whether the slug functions take `text` (see the module's comment). */
export function isSluggable(text: string): boolean {
  const decomposed = decompose(text);
  return ASCII.test(decomposed) && !CHARACTER_REFERENCE.test(decomposed);
}

function slug(text: string, lowercase: boolean, disallowed: RegExp, maxLength: number): string {
  if (!isSluggable(text)) {
    throw new InvalidArgumentError(
      `${show(text)} cannot be made a tag here: use ASCII letters (accents are dropped), digits, "_", "." and "-"; other characters are not transliterated`,
    );
  }
  let result = decompose(text);
  if (lowercase) result = result.toLowerCase();
  result = result
    .replace(QUOTES, "")
    .replace(COMMA_BETWEEN_DIGITS, "")
    .replace(disallowed, "-")
    .replace(DASHES, "-")
    .replace(EDGE_DASHES, "");
  // smart_truncate without word boundaries: cut, then strip the separator again.
  if (maxLength > 0 && result.length >= maxLength) {
    result = result.slice(0, maxLength).replace(EDGE_DASHES, "");
  }
  return result;
}

/**
 * python-slugify's `slugify(text)` with its default arguments.
 * @throws InvalidArgumentError for text that is not ASCII or holds a character reference.
 */
export function slugify(text: string): string {
  return slug(text, true, NOT_SLUG, 0);
}

/**
 * An image tag as `get_prefect_image_name` slugifies it: Docker's tag characters, case kept, at
 * most 128.
 * @throws InvalidArgumentError for text that is not ASCII or holds a character reference.
 */
export function slugifyImageTag(text: string): string {
  return slug(text, false, NOT_TAG, MAX_TAG_LENGTH);
}

/** A UTC time as Python's `datetime.isoformat()` writes it (no microseconds when they are 0). */
export function pythonUtcIsoformat(epochMicroseconds: bigint): string {
  const millis = Number(epochMicroseconds / 1000n);
  const micros = Number(epochMicroseconds % 1_000_000n);
  const base = new Date(millis).toISOString().slice(0, 19);
  return `${base}${micros === 0 ? "" : `.${String(micros).padStart(6, "0")}`}+00:00`;
}

/** Microseconds since the epoch, with the sub-millisecond part from the monotonic clock. */
export function nowMicroseconds(): bigint {
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
}

/**
 * Prefect's default image tag, `slugify(datetime.now(timezone.utc).isoformat())`, e.g.
 * `2026-11-27t03-52-22-123456-00-00`.
 */
export function timestampTag(epochMicroseconds: bigint): string {
  return slugify(pythonUtcIsoformat(epochMicroseconds));
}
