import fc from "fast-check";
import { isSluggable } from "../../src/python/slugify.js";

/**
 * The text Prefect's two slugify calls see, and what python-slugify does to it: ASCII, with the
 * quotes, commas between digits, runs of separators and 128-character cuts its steps handle.
 */
export const slugUnit = fc.oneof(
  { arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 3 }), weight: 8 },
  {
    arbitrary: fc.constantFrom("'", "''", "-", "--", " ", ",", "1,000", "_", ".", "&", "&x", ";"),
    weight: 4,
  },
  {
    arbitrary: fc.constantFrom("é", "Ü", "ñ", "İ", "ç", "ǅ", "™", "ﬁ", "＇", "Å"),
    weight: 2,
  },
);
/** Text the slug functions take: ASCII once decomposed and unaccented, no `&amp;`-like references. */
export const slugText = fc
  .array(slugUnit, { maxLength: 14 })
  .map((parts) => parts.join(""))
  .filter(isSluggable);

/** python-slugify's own tests (test.py) on ASCII text with its default arguments. */
export const upstream: [string, string][] = [
  ["This is a test ---", "this-is-a-test"],
  ["___This is a test ---", "this-is-a-test"],
  ["___This is a test___", "this-is-a-test"],
  ["This -- is a ## test ---", "this-is-a-test"],
  ["10 amazing secrets", "10-amazing-secrets"],
  ["buildings with 1000 windows", "buildings-with-1000-windows"],
  ["recipe number 3", "recipe-number-3"],
  ["404", "404"],
  ["1,000 reasons you are #1", "1000-reasons-you-are-1"],
];

/** Image tags as Prefect builds them, including the 128-character cut. */
export const prefectTags: [string, string][] = [
  ["3.0.0-python3.12", "3.0.0-python3.12"],
  ["sha-abc1234-python3.12-conda", "sha-abc1234-python3.12-conda"],
  ["3.0.0rc1-python3.12-my flavor!", "3.0.0rc1-python3.12-my-flavor"],
  ["1!2.0-python3.11-UPPER_case", "1-2.0-python3.11-UPPER_case"],
  ["3.0.0-python3.12-it's 1,000", "3.0.0-python3.12-it-s-1000"],
  ["3.0.0-python3.12-ünïcödé", "3.0.0-python3.12-unicode"],
  ["3.0.0-python3.12--", "3.0.0-python3.12"],
  [`3.0.0-python3.12-${"x".repeat(200)}`, `3.0.0-python3.12-${"x".repeat(111)}`],
  [`3.0.0-python3.12-${"y".repeat(110)}-tail`, `3.0.0-python3.12-${"y".repeat(110)}`],
];

/** Edge cases of the ASCII steps: quotes, commas, separators, control characters, long text. */
export const edgeCases = [
  "",
  " ",
  "-",
  "---a---",
  "'",
  "it's 'quoted'",
  "1,000,000 and 1, 2 ,3",
  "a & b; c",
  "tab\tnew\nline\rcr",
  "C'est déjà l'été.",
  "İstanbul ǅemal ﬁne ™",
  "\x00\x1f\x7f",
  "2026-11-27T03:52:22.123456+00:00",
  "2026-11-27T03:52:22+00:00",
  "a".repeat(300),
  `${"word ".repeat(40)}end`,
];

/** Text the slug functions refuse: Prefect would transliterate or decode it. */
export const refused = [
  "北京",
  "Компьютер",
  "emoji 😀",
  "½",
  "&amp;",
  "&#65;",
  "&#x41;",
  "x&Omega;y",
  "＆ａｍｐ；",
];
