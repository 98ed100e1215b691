/**
 * A port of python-slugify 8.x's `slugify` and `smart_truncate` (the versions Prefect depends on:
 * `python-slugify>=5.0,<9.0`), step for step.
 *
 * Transliteration to ASCII uses the `unidecode` npm package (tables from Perl's Text::Unidecode,
 * the ancestor of both Python transliterators python-slugify may load). It agrees with Python's
 * Unidecode 1.3.6 on 99.8% of assigned code points once each is NFKD-normalised; the rest
 * (e.g. `"シ"` gives `"si"` here and `"shi"` in Python, `"₹"` gives `""` here and `"Rs"` in Python)
 * is listed in the tests. Pass `transliterate` to plug in another table.
 * @module
 */

import { createRequire } from "node:module";
import { InvalidArgumentError } from "../errors.js";

/**
 * HTML 4 character entity names and their code points: Python's
 * `html.entities.name2codepoint`, which python-slugify turns into its `CHAR_ENTITY_PATTERN`.
 */
const ENTITY_TABLE =
  "AElig:c6 Aacute:c1 Acirc:c2 Agrave:c0 Alpha:391 Aring:c5 Atilde:c3 Auml:c4 Beta:392 Ccedil:c7 " +
  "Chi:3a7 Dagger:2021 Delta:394 ETH:d0 Eacute:c9 Ecirc:ca Egrave:c8 Epsilon:395 Eta:397 Euml:cb " +
  "Gamma:393 Iacute:cd Icirc:ce Igrave:cc Iota:399 Iuml:cf Kappa:39a Lambda:39b Mu:39c Ntilde:d1 " +
  "Nu:39d OElig:152 Oacute:d3 Ocirc:d4 Ograve:d2 Omega:3a9 Omicron:39f Oslash:d8 Otilde:d5 " +
  "Ouml:d6 Phi:3a6 Pi:3a0 Prime:2033 Psi:3a8 Rho:3a1 Scaron:160 Sigma:3a3 THORN:de Tau:3a4 " +
  "Theta:398 Uacute:da Ucirc:db Ugrave:d9 Upsilon:3a5 Uuml:dc Xi:39e Yacute:dd Yuml:178 Zeta:396 " +
  "aacute:e1 acirc:e2 acute:b4 aelig:e6 agrave:e0 alefsym:2135 alpha:3b1 amp:26 and:2227 " +
  "ang:2220 aring:e5 asymp:2248 atilde:e3 auml:e4 bdquo:201e beta:3b2 brvbar:a6 bull:2022 " +
  "cap:2229 ccedil:e7 cedil:b8 cent:a2 chi:3c7 circ:2c6 clubs:2663 cong:2245 copy:a9 crarr:21b5 " +
  "cup:222a curren:a4 dArr:21d3 dagger:2020 darr:2193 deg:b0 delta:3b4 diams:2666 divide:f7 " +
  "eacute:e9 ecirc:ea egrave:e8 empty:2205 emsp:2003 ensp:2002 epsilon:3b5 equiv:2261 eta:3b7 " +
  "eth:f0 euml:eb euro:20ac exist:2203 fnof:192 forall:2200 frac12:bd frac14:bc frac34:be " +
  "frasl:2044 gamma:3b3 ge:2265 gt:3e hArr:21d4 harr:2194 hearts:2665 hellip:2026 iacute:ed " +
  "icirc:ee iexcl:a1 igrave:ec image:2111 infin:221e int:222b iota:3b9 iquest:bf isin:2208 " +
  "iuml:ef kappa:3ba lArr:21d0 lambda:3bb lang:2329 laquo:ab larr:2190 lceil:2308 ldquo:201c " +
  "le:2264 lfloor:230a lowast:2217 loz:25ca lrm:200e lsaquo:2039 lsquo:2018 lt:3c macr:af " +
  "mdash:2014 micro:b5 middot:b7 minus:2212 mu:3bc nabla:2207 nbsp:a0 ndash:2013 ne:2260 ni:220b " +
  "not:ac notin:2209 nsub:2284 ntilde:f1 nu:3bd oacute:f3 ocirc:f4 oelig:153 ograve:f2 " +
  "oline:203e omega:3c9 omicron:3bf oplus:2295 or:2228 ordf:aa ordm:ba oslash:f8 otilde:f5 " +
  "otimes:2297 ouml:f6 para:b6 part:2202 permil:2030 perp:22a5 phi:3c6 pi:3c0 piv:3d6 plusmn:b1 " +
  "pound:a3 prime:2032 prod:220f prop:221d psi:3c8 quot:22 rArr:21d2 radic:221a rang:232a " +
  "raquo:bb rarr:2192 rceil:2309 rdquo:201d real:211c reg:ae rfloor:230b rho:3c1 rlm:200f " +
  "rsaquo:203a rsquo:2019 sbquo:201a scaron:161 sdot:22c5 sect:a7 shy:ad sigma:3c3 sigmaf:3c2 " +
  "sim:223c spades:2660 sub:2282 sube:2286 sum:2211 sup:2283 sup1:b9 sup2:b2 sup3:b3 supe:2287 " +
  "szlig:df tau:3c4 there4:2234 theta:3b8 thetasym:3d1 thinsp:2009 thorn:fe tilde:2dc times:d7 " +
  "trade:2122 uArr:21d1 uacute:fa uarr:2191 ucirc:fb ugrave:f9 uml:a8 upsih:3d2 upsilon:3c5 " +
  "uuml:fc weierp:2118 xi:3be yacute:fd yen:a5 yuml:ff zeta:3b6 zwj:200d zwnj:200c";

let entities: Map<string, number> | undefined;

/** The entity table, parsed on first use. */
function entityCodePoints(): Map<string, number> {
  entities ??= new Map(
    ENTITY_TABLE.split(" ").map((entry) => {
      const [name = "", codePoint = ""] = entry.split(":");
      return [name, Number.parseInt(codePoint, 16)] as const;
    }),
  );
  return entities;
}

const DEFAULT_SEPARATOR = "-";
// Every entity name is alphanumeric and must be followed by ";", so matching the whole run and
// looking it up is equivalent to python-slugify's alternation of all 252 names.
const CHAR_ENTITY_PATTERN = /&([A-Za-z0-9]+);/g;
const DECIMAL_PATTERN = /&#([0-9]+);/g;
const HEX_PATTERN = /&#x([0-9a-fA-F]+);/g;
const QUOTE_PATTERN = /'+/g;
/** python-slugify's `DISALLOWED_CHARS_PATTERN`, the default `regexPattern`. */
const DISALLOWED_CHARS_PATTERN = /[^-a-zA-Z0-9]+/gu;
const DUPLICATE_DASH_PATTERN = /-{2,}/g;
// Python's `\d` is any Unicode decimal digit (category Nd).
const NUMBERS_PATTERN = /(?<=\p{Nd}),(?=\p{Nd})/gu;
/** CPython's default `sys.get_int_max_str_digits()`: `int()` of a longer decimal raises. */
const INT_MAX_STR_DIGITS = 4300;

/** Options of {@link slugify}, named after python-slugify's keyword arguments. */
export interface SlugifyOptions {
  /**
   * Decode HTML 4 named character references (`&amp;`, `&eacute;`) after transliteration.
   * @default true
   */
  readonly entities?: boolean;
  /**
   * Decode decimal character references (`&#381;`). As in Python, if any of them is beyond
   * U+10FFFF (or longer than 4300 digits), none is decoded.
   * @default true
   */
  readonly decimal?: boolean;
  /**
   * Decode hexadecimal character references (`&#x17D;`, lower-case `x` only), with the same
   * all-or-nothing rule as `decimal`.
   * @default true
   */
  readonly hexadecimal?: boolean;
  /**
   * Truncate the slug to this many code points with `smart_truncate`; `0` (or less) keeps it
   * whole. Must be an integer.
   * @default 0
   */
  readonly maxLength?: number;
  /**
   * When truncating, keep whole words only (see {@link smartTruncate}).
   * @default false
   */
  readonly wordBoundary?: boolean;
  /**
   * Separator between words, substituted for `-` as the very last step.
   * @default "-"
   */
  readonly separator?: string;
  /**
   * With `wordBoundary`, stop at the first word that does not fit instead of trying later, shorter
   * words.
   * @default false
   */
  readonly saveOrder?: boolean;
  /**
   * Words removed from the slug (compared lower-cased when `lowercase` is on).
   * @default []
   */
  readonly stopwords?: readonly string[];
  /**
   * Pattern of disallowed characters; each match becomes `-`. Python's `re` pattern goes here as a
   * JavaScript RegExp: a string is compiled with flags `gu`, a RegExp keeps its flags plus `g`.
   * Write the JavaScript syntax (`(?<name>...)`, not `(?P<name>...)`). An empty string means the
   * default, as in Python; a pattern that can match the empty string may replace differently from
   * Python's `re.sub`. Prefect passes `[^a-zA-Z0-9_.-]+` for image tags.
   * @default /[^-a-zA-Z0-9]+/gu (python-slugify's DISALLOWED_CHARS_PATTERN)
   */
  readonly regexPattern?: RegExp | string | null;
  /**
   * Lower-case the text before filtering.
   * @default true
   */
  readonly lowercase?: boolean;
  /**
   * `[old, new]` pairs replaced (every occurrence) before anything else and again after
   * stopwords are removed.
   * @default []
   */
  readonly replacements?: readonly (readonly [string, string])[];
  /**
   * Transliterates NFKD-normalised text to ASCII, in place of Python's `unidecode.unidecode`.
   * @default toAscii
   */
  readonly transliterate?: (text: string) => string;
}

type Unidecode = (text: string) => string;
/** What the `unidecode` package returns for characters it has no transliteration for. */
const UNKNOWN = new Set(["[?]", "[?] "]);
/** Escapes of Perl string literals left in the package's tables (`\\@` for `@`). */
const PERL_ESCAPE = /\\([\\@${}])/g;
let unidecode: Unidecode | undefined;

/** Loads the CommonJS `unidecode` package (it ships no types) on first use. */
function loadUnidecode(): Unidecode {
  unidecode ??= createRequire(import.meta.url)("unidecode") as Unidecode;
  return unidecode;
}

/**
 * Transliterates text to ASCII one code point at a time with the `unidecode` npm package, the
 * default `transliterate` of {@link slugify}.
 *
 * Four fixes bring the package closer to Python's Unidecode: C1 controls (U+0080–U+009F) give
 * nothing (the package reads them as Windows-1252); unknown characters give nothing instead of
 * `"[?]"`; Perl escapes left in its tables are undone (`"\\@"` for `ə` becomes `"@"`); and
 * U+2028 / U+2029 give `"\n"` / `"\n\n"` (the package's matcher never reaches them). Code points
 * are handed over one by one because the package mistakes some pairs of Latin-1 characters
 * (`"Æ©"`) for undecoded UTF-8 bytes.
 *
 * @param text - any text; lone surrogates give nothing.
 * @returns ASCII text.
 * @example
 * ```ts
 * toAscii("Компьютер"); // "Komp'iuter"
 * ```
 */
export function toAscii(text: string): string {
  const decode = loadUnidecode();
  let ascii = "";
  for (const char of text) {
    const codePoint = char.codePointAt(0) ?? 0;
    if (codePoint < 0x80) ascii += char;
    else if (codePoint <= 0x9f) continue;
    else if (codePoint === 0x2028) ascii += "\n";
    else if (codePoint === 0x2029) ascii += "\n\n";
    else {
      const replacement = decode(char);
      if (!UNKNOWN.has(replacement)) ascii += replacement.replace(PERL_ESCAPE, "$1");
    }
  }
  return ascii;
}

/** Python's `text.replace(old, new)`; an empty `old` inserts between code points, not units. */
function pyReplace(text: string, old: string, replacement: string): string {
  if (old !== "") return text.split(old).join(replacement);
  if (text === "") return replacement;
  return replacement + Array.from(text).join(replacement) + replacement;
}

/** Python's `text.strip(chars)`: removes any of the code points in `chars` from both ends. */
function pyStrip(text: string, chars: string): string {
  const strip = new Set(chars);
  const codePoints = Array.from(text);
  let start = 0;
  let end = codePoints.length;
  while (start < end && strip.has(codePoints[start] ?? "")) start++;
  while (end > start && strip.has(codePoints[end - 1] ?? "")) end--;
  return codePoints.slice(start, end).join("");
}

/** Python's `text[:length]`, counted in code points. */
function codePointPrefix(text: string, length: number): string {
  return Array.from(text).slice(0, length).join("");
}

/** Python's `len(text)`. */
function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

/**
 * Decodes every `&#...;` reference, or none: python-slugify wraps the substitution in
 * `try/except`, so one reference `chr()` rejects leaves all of them as they are.
 */
function decodeCharacterReferences(text: string, pattern: RegExp, radix: 10 | 16): string {
  let failed = false;
  const decoded = text.replace(pattern, (_match, digits: string) => {
    if (radix === 10 && digits.length > INT_MAX_STR_DIGITS) failed = true;
    const value = failed ? 0n : BigInt(radix === 16 ? `0x${digits}` : digits);
    if (value > 0x10ffffn) failed = true;
    return failed ? "" : String.fromCodePoint(Number(value));
  });
  return failed ? text : decoded;
}

/** The disallowed-characters pattern as a global RegExp, defaulted like Python's `or`. */
function disallowedPattern(regexPattern: RegExp | string | null | undefined): RegExp {
  if (regexPattern === undefined || regexPattern === null || regexPattern === "") {
    return DISALLOWED_CHARS_PATTERN;
  }
  if (typeof regexPattern === "string") return new RegExp(regexPattern, "gu");
  const { flags, source } = regexPattern;
  return new RegExp(source, flags.includes("g") ? flags : `${flags}g`);
}

/**
 * Truncates a slug to at most `maxLength` code points, exactly like python-slugify's
 * `smart_truncate`.
 *
 * The text is first stripped of `separator` characters at both ends. Without `wordBoundary` it is
 * cut at `maxLength` and stripped again. With it, whole words are collected while they fit,
 * skipping a word that does not (or stopping there when `saveOrder` is set); a text without the
 * separator is cut at `maxLength` instead.
 *
 * @param text - the slug.
 * @param maxLength - the longest result in code points; `0` returns the stripped text.
 * @param wordBoundary - keep whole words only.
 * @param separator - the word separator (Python's default is a space; slugify passes `-`).
 * @param saveOrder - stop at the first word that does not fit.
 * @returns the truncated text.
 * @throws InvalidArgumentError for an empty separator with `wordBoundary`, where Python raises.
 * @example
 * ```ts
 * smartTruncate("one-two-three-four-five", 12, true, "-"); // "one-two-four"
 * ```
 */
export function smartTruncate(
  text: string,
  maxLength = 0,
  wordBoundary = false,
  separator = " ",
  saveOrder = false,
): string {
  const string = pyStrip(text, separator);
  if (!maxLength) return string;
  if (codePointLength(string) < maxLength) return string;
  if (!wordBoundary) return pyStrip(codePointPrefix(string, maxLength), separator);
  if (!string.includes(separator)) return codePointPrefix(string, maxLength);
  // Python's `str.split("")` raises "ValueError: empty separator" here.
  if (separator === "")
    throw new InvalidArgumentError("smartTruncate: separator must not be empty");
  let truncated = "";
  for (const word of string.split(separator)) {
    if (!word) continue;
    const nextLength = codePointLength(truncated) + codePointLength(word);
    if (nextLength < maxLength) {
      truncated += `${word}${separator}`;
    } else if (nextLength === maxLength) {
      truncated += word;
      break;
    } else if (saveOrder) {
      break;
    }
  }
  if (!truncated) truncated = codePointPrefix(string, maxLength);
  return pyStrip(truncated, separator);
}

/**
 * Makes a slug from text, exactly like python-slugify 8.x's `slugify` (Prefect's
 * `prefect.utilities.slugify`), with its keyword arguments as options.
 *
 * The steps, in Python's order: replacements; `'` runs become `-`; NFKD; transliteration to ASCII;
 * HTML entity, decimal and hexadecimal references decoded; NFKD again; lower-casing (optional);
 * quotes removed; commas between digits removed (`1,000` gives `1000`); each run of disallowed
 * characters becomes `-`; runs of `-` collapse and are stripped from both ends; stopwords removed;
 * replacements again; {@link smartTruncate} when `maxLength > 0`; `-` replaced by `separator`.
 * Lengths count code points, as Python's `len` does.
 *
 * @param text - the text to slugify.
 * @param options - python-slugify's keyword arguments; see {@link SlugifyOptions}.
 * @returns the slug.
 * @throws InvalidArgumentError when `maxLength` is not an integer.
 * @example
 * ```ts
 * slugify("C'est déjà l'été."); // "c-est-deja-l-ete"
 * slugify("3.0.0+dev-python3.12", {
 *   lowercase: false,
 *   maxLength: 128,
 *   regexPattern: /[^a-zA-Z0-9_.-]+/,
 * }); // "3.0.0-dev-python3.12", as Prefect tags images
 * ```
 */
export function slugify(text: string, options: SlugifyOptions = {}): string {
  const {
    entities = true,
    decimal = true,
    hexadecimal = true,
    maxLength = 0,
    wordBoundary = false,
    separator = DEFAULT_SEPARATOR,
    saveOrder = false,
    stopwords = [],
    regexPattern = null,
    lowercase = true,
    replacements = [],
    transliterate = toAscii,
  } = options;
  if (!Number.isInteger(maxLength)) {
    throw new InvalidArgumentError(
      `slugify: maxLength must be an integer, got ${String(maxLength)}; use 0 to keep the whole slug`,
    );
  }
  const pattern = disallowedPattern(regexPattern);

  let slug = text;
  for (const [old, replacement] of replacements) slug = pyReplace(slug, old, replacement);
  slug = slug.replace(QUOTE_PATTERN, DEFAULT_SEPARATOR);
  slug = transliterate(slug.normalize("NFKD"));
  if (entities) {
    const table = entityCodePoints();
    slug = slug.replace(CHAR_ENTITY_PATTERN, (match, name: string) => {
      const codePoint = table.get(name);
      return codePoint === undefined ? match : String.fromCodePoint(codePoint);
    });
  }
  if (decimal) slug = decodeCharacterReferences(slug, DECIMAL_PATTERN, 10);
  if (hexadecimal) slug = decodeCharacterReferences(slug, HEX_PATTERN, 16);
  slug = slug.normalize("NFKD");
  if (lowercase) slug = slug.toLowerCase();
  slug = slug.replace(QUOTE_PATTERN, "");
  slug = slug.replace(NUMBERS_PATTERN, "");
  slug = slug.replace(pattern, DEFAULT_SEPARATOR);
  slug = pyStrip(slug.replace(DUPLICATE_DASH_PATTERN, DEFAULT_SEPARATOR), DEFAULT_SEPARATOR);
  if (stopwords.length > 0) {
    const stop = new Set(lowercase ? stopwords.map((word) => word.toLowerCase()) : stopwords);
    slug = slug
      .split(DEFAULT_SEPARATOR)
      .filter((word) => !stop.has(word))
      .join(DEFAULT_SEPARATOR);
  }
  for (const [old, replacement] of replacements) slug = pyReplace(slug, old, replacement);
  if (maxLength > 0) {
    slug = smartTruncate(slug, maxLength, wordBoundary, DEFAULT_SEPARATOR, saveOrder);
  }
  if (separator !== DEFAULT_SEPARATOR) slug = pyReplace(slug, DEFAULT_SEPARATOR, separator);
  return slug;
}
