/**
 * A port of python-slugify 8.x's `slugify` (the version Prefect depends on:
 * `python-slugify>=5.0,<9.0`), step for step, for the two calls Prefect's dockerutils makes:
 * `slugify(timestamp)` for `push_image`'s default tag ({@link slugify}) and `slugify(tag,
 * lowercase=False, max_length=128, regex_pattern=r"[^a-zA-Z0-9_.-]+")` for
 * `get_prefect_image_name` ({@link slugifyImageTag}). python-slugify's other options (stopwords,
 * replacements, separators, word boundaries, custom patterns) have no caller and are left out.
 *
 * Transliteration to ASCII uses the `unidecode` npm package (tables from Perl's Text::Unidecode,
 * the ancestor of both Python transliterators python-slugify may load). It agrees with Python's
 * Unidecode 1.3.6 on 99.8% of assigned code points once each is NFKD-normalised; the rest
 * (e.g. `"シ"` gives `"si"` here and `"shi"` in Python, `"₹"` gives `""` here and `"Rs"` in Python)
 * is listed in the tests.
 * @module
 */

import { createRequire } from "node:module";

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

const SEPARATOR = "-";
// Every entity name is alphanumeric and must be followed by ";", so matching the whole run and
// looking it up is equivalent to python-slugify's alternation of all 252 names.
const CHAR_ENTITY_PATTERN = /&([A-Za-z0-9]+);/g;
const DECIMAL_PATTERN = /&#([0-9]+);/g;
const HEX_PATTERN = /&#x([0-9a-fA-F]+);/g;
const QUOTE_PATTERN = /'+/g;
/** python-slugify's `DISALLOWED_CHARS_PATTERN`, its default `regex_pattern`. */
const DISALLOWED_CHARS_PATTERN = /[^-a-zA-Z0-9]+/gu;
/** The `regex_pattern` Prefect passes for image tags: the characters Docker allows in tags. */
const DISALLOWED_TAG_CHARS_PATTERN = /[^a-zA-Z0-9_.-]+/g;
/** Docker's longest tag, Prefect's `max_length` for image tags. */
const MAX_TAG_LENGTH = 128;
const DUPLICATE_DASH_PATTERN = /-{2,}/g;
// Python's `\d` is any Unicode decimal digit (category Nd).
const NUMBERS_PATTERN = /(?<=\p{Nd}),(?=\p{Nd})/gu;
/** CPython's default `sys.get_int_max_str_digits()`: `int()` of a longer decimal raises. */
const INT_MAX_STR_DIGITS = 4300;

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
 * Transliterates text to ASCII one code point at a time with the `unidecode` npm package, as
 * python-slugify does with Unidecode.
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

/** The arguments of python-slugify's `slugify` that Prefect's two calls set. */
interface SlugArguments {
  readonly lowercase: boolean;
  /** `max_length`; 0 keeps the whole slug. */
  readonly maxLength: number;
  /** `regex_pattern`, with the `g` flag. */
  readonly disallowed: RegExp;
}

/**
 * python-slugify's `slugify` with `entities`, `decimal` and `hexadecimal` on, no stopwords or
 * replacements, separator `-`, and `smart_truncate` without word boundaries, in Python's order:
 * `'` runs become `-`; NFKD; transliteration to ASCII; HTML entity, decimal and hexadecimal
 * references decoded; NFKD again; lower-casing (optional); quotes removed; commas between digits
 * removed (`1,000` gives `1000`); each run of disallowed characters becomes `-`; runs of `-`
 * collapse and are stripped from both ends; the slug is cut to `maxLength` code points and
 * stripped of `-` again.
 */
function slug(text: string, { lowercase, maxLength, disallowed }: SlugArguments): string {
  let slug = text.replace(QUOTE_PATTERN, SEPARATOR);
  slug = toAscii(slug.normalize("NFKD"));
  const table = entityCodePoints();
  slug = slug.replace(CHAR_ENTITY_PATTERN, (match, name: string) => {
    const codePoint = table.get(name);
    return codePoint === undefined ? match : String.fromCodePoint(codePoint);
  });
  slug = decodeCharacterReferences(slug, DECIMAL_PATTERN, 10);
  slug = decodeCharacterReferences(slug, HEX_PATTERN, 16);
  slug = slug.normalize("NFKD");
  if (lowercase) slug = slug.toLowerCase();
  slug = slug.replace(QUOTE_PATTERN, "");
  slug = slug.replace(NUMBERS_PATTERN, "");
  slug = slug.replace(disallowed, SEPARATOR);
  slug = pyStrip(slug.replace(DUPLICATE_DASH_PATTERN, SEPARATOR), SEPARATOR);
  // smart_truncate(slug, max_length, word_boundary=False, separator="-").
  if (maxLength > 0 && codePointLength(slug) >= maxLength) {
    slug = pyStrip(codePointPrefix(slug, maxLength), SEPARATOR);
  }
  return slug;
}

/**
 * Makes a slug with python-slugify's default arguments, as Prefect's `push_image` does for its
 * default tag, `slugify(datetime.now(timezone.utc).isoformat())`: lower-case ASCII letters,
 * digits and single inner dashes.
 *
 * @param text - the text to slugify.
 * @returns the slug.
 * @example
 * ```ts
 * slugify("2026-11-27T03:52:22.123456+00:00"); // "2026-11-27t03-52-22-123456-00-00"
 * slugify("C'est déjà l'été.");                // "c-est-deja-l-ete"
 * ```
 */
export function slugify(text: string): string {
  return slug(text, { lowercase: true, maxLength: 0, disallowed: DISALLOWED_CHARS_PATTERN });
}

/**
 * Makes an image tag as Prefect's `get_prefect_image_name` does: `slugify(text, lowercase=False,
 * max_length=128, regex_pattern=r"[^a-zA-Z0-9_.-]+")`, so only the characters Docker allows in a
 * tag remain, case kept, at most 128 of them.
 *
 * @param text - the tag to clean, e.g. `3.0.0rc1-python3.12-my flavor!`.
 * @returns the tag, e.g. `3.0.0rc1-python3.12-my-flavor`.
 */
export function slugifyImageTag(text: string): string {
  return slug(text, {
    lowercase: false,
    maxLength: MAX_TAG_LENGTH,
    disallowed: DISALLOWED_TAG_CHARS_PATTERN,
  });
}
