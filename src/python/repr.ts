/**
 * Python's `repr()` of a `str`, which Prefect writes into Dockerfiles (`to_run_command`) and
 * assertion messages.
 * @module
 */

/**
 * Code points Python's `str.isprintable()` rejects: other (Cc, Cf, Cs, Co, Cn) and separator
 * (Zl, Zp, Zs) categories; the ASCII space is handled before this is consulted.
 *
 * Node's Unicode tables may differ from the interpreter's for newly assigned code points (Node
 * 20.20 ships Unicode 17.0, CPython 3.11 has 14.0): a code point assigned in between is printable
 * here but escaped by that Python, because it is still unassigned (Cn) there.
 */
const NOT_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

const hex = (codePoint: number, width: number): string =>
  codePoint.toString(16).padStart(width, "0");

/**
 * Escapes one code point (a lone surrogate counts as one) the way CPython's `unicode_repr` does.
 * ASCII letters, digits and punctuation come back unchanged except `\` and the quote in use.
 */
function escapeCodePoint(char: string, quote: string): string {
  const codePoint = char.codePointAt(0) ?? 0;
  if (char === quote || char === "\\") return `\\${char}`;
  if (char === "\t") return "\\t";
  if (char === "\n") return "\\n";
  if (char === "\r") return "\\r";
  if (codePoint < 0x20 || codePoint === 0x7f) return `\\x${hex(codePoint, 2)}`;
  if (codePoint < 0x7f) return char;
  if (!NOT_PRINTABLE.test(char)) return char;
  if (codePoint <= 0xff) return `\\x${hex(codePoint, 2)}`;
  if (codePoint <= 0xffff) return `\\u${hex(codePoint, 4)}`;
  return `\\U${hex(codePoint, 8)}`;
}

/**
 * Returns exactly what Python 3's `repr(s)` returns for the `str` with the same code points.
 *
 * The quote is `"` when the text contains `'` but no `"`, otherwise `'` (escaped inside as
 * `\'`). Backslash, tab, newline and carriage return use their short escapes; other C0/C1 controls
 * and DEL become `\xNN`; non-printable code points (unassigned, format, private use, surrogates,
 * separators other than the ASCII space) become `\xNN`, `\uXXXX` or `\UXXXXXXXX`; everything else,
 * non-ASCII letters and emoji included, is kept. A lone surrogate in the JavaScript string is a
 * lone surrogate code point to Python too and comes out as `'\udXXX'`.
 *
 * @param s - the text to quote.
 * @returns the Python literal, quotes included.
 * @example
 * ```ts
 * pythonRepr("it's");        // "\"it's\""
 * pythonRepr("a\tb\u00e9");  // "'a\\tbé'"
 * pythonRepr("\ud800");      // "'\\ud800'"
 * ```
 */
export function pythonRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let body = "";
  // `for...of` walks code points and yields unpaired surrogates on their own, like Python's str.
  for (const char of s) body += escapeCodePoint(char, quote);
  return `${quote}${body}${quote}`;
}
