import fc from "fast-check";

/** Strings mixing every kind of code point `repr` treats differently, lone surrogates included. */
export const reprUnit = fc.oneof(
  {
    arbitrary: fc.constantFrom("'", '"', "\\", "\t", "\n", "\r", " ", "\x7f", "\x85", "\xa0"),
    weight: 3,
  },
  { arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 }), weight: 3 },
  {
    arbitrary: fc.integer({ min: 0x80, max: 0xffff }).map((c) => String.fromCharCode(c)),
    weight: 3,
  },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 3 },
  {
    arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    weight: 1,
  },
);
export const reprString = fc.string({ unit: reprUnit, maxLength: 12 });

export const handPicked: [string, string][] = [
  ["", "''"],
  ["a", "'a'"],
  ["it's", `"it's"`],
  ['say "hi"', `'say "hi"'`],
  [`both ' and "`, `'both \\' and "'`],
  ["back\\slash", "'back\\\\slash'"],
  ["\t\n\r", "'\\t\\n\\r'"],
  ["\x00\x1f\x7f", "'\\x00\\x1f\\x7f'"],
  ["\x80\x85\x9f\xa0\xad", "'\\x80\\x85\\x9f\\xa0\\xad'"],
  ["é日本😀", "'é日本😀'"],
  ["\u200b\u2028\u2029\u3000", "'\\u200b\\u2028\\u2029\\u3000'"],
  ["\ue000\u{f0000}", "'\\ue000\\U000f0000'"],
  ["\ud800", "'\\ud800'"],
  ["\udfff", "'\\udfff'"],
  ["\ud83dx", "'\\ud83dx'"],
  ["\u0378", "'\\u0378'"],
  ["\u{10ffff}", "'\\U0010ffff'"],
  ["\ufeff", "'\\ufeff'"],
  [" ", "' '"],
];
