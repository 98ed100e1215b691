/**
 * Python's `repr()` of a `str`, which Prefect writes into Dockerfiles (`to_run_command`) and
 * assertion messages.
 * @module
 */

/**
 * Code points Python's `str.isprintable()` rejects (categories C* and Z*; the ASCII space is
 * handled before). Node's Unicode may be newer than the interpreter's (Node 20.20: 17.0, CPython
 * 3.11: 14.0): a code point assigned in between is printable here, escaped by that Python.
 */
const NOT_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

const hex = (codePoint: number, width: number): string =>
  codePoint.toString(16).padStart(width, "0");

/** Escapes one code point (a lone surrogate counts as one) as CPython's `unicode_repr` does. */
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
 * Exactly what Python 3's `repr(s)` returns for the `str` with the same code points (a lone
 * surrogate included): the Python literal, quotes included.
 */
export function pythonRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let body = "";
  // `for...of` walks code points and yields unpaired surrogates on their own, like Python's str.
  for (const char of s) body += escapeCodePoint(char, quote);
  return `${quote}${body}${quote}`;
}
