import fc from "fast-check";

// ---- generators

export const slugUnit = fc.oneof(
  { arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 3 }), weight: 8 },
  {
    arbitrary: fc.constantFrom(
      "'",
      "''",
      "-",
      "--",
      " ",
      ",",
      "1,000",
      "_",
      ".",
      "&amp;",
      "&amp;#49;",
      "&#65;",
      "&#x41;",
      "&#X41;",
      "&#1114112;",
      "&#x110000;",
      "&#0065;",
      "&nbsp;",
      "&Omega;",
      "&frac12;",
      "&sup2;",
      "&bogus;",
      "&#1635;,&#1636;",
      "&#55296;",
      "ﬁ",
      "½",
      "™",
    ),
    weight: 4,
  },
  {
    arbitrary: fc.constantFrom(
      "é",
      "Ü",
      "ß",
      "Æ",
      "ø",
      "Ł",
      "Ж",
      "щ",
      "Ω",
      "北京",
      "日本語",
      "한국어",
    ),
    weight: 3,
  },
  {
    arbitrary: fc.constantFrom("😀", "🦄", "👩‍👩‍👧", "\u200b", "\u00a0", "\u2028", "\x85"),
    weight: 1,
  },
  {
    arbitrary: fc.integer({ min: 0x80, max: 0xffff }).map((c) => String.fromCharCode(c)),
    weight: 2,
  },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 2 }), weight: 1 },
);
export const slugText = fc.array(slugUnit, { maxLength: 14 }).map((parts) => parts.join(""));

/** python-slugify's own tests (test.py) that use its default arguments, as Prefect's push tag does. */
export const upstream: [string, string][] = [
  ["This is a test ---", "this-is-a-test"],
  ["___This is a test ---", "this-is-a-test"],
  ["___This is a test___", "this-is-a-test"],
  ["This -- is a ## test ---", "this-is-a-test"],
  ["影師嗎", "ying-shi-ma"],
  ["C'est déjà l'été.", "c-est-deja-l-ete"],
  ["Nín hǎo. Wǒ shì zhōng guó rén", "nin-hao-wo-shi-zhong-guo-ren"],
  ["jaja---lol-méméméoo--a", "jaja-lol-mememeoo-a"],
  ["Компьютер", "kompiuter"],
  ["foo &amp; bar", "foo-bar"],
  ["&#381;", "z"],
  ["&#x17D;", "z"],
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
  ["3.0.0-python3.12-ünïcödé", "3.0.0-python3.12-unicode"],
  ["3.0.0-python3.12--", "3.0.0-python3.12"],
  [`3.0.0-python3.12-${"x".repeat(200)}`, `3.0.0-python3.12-${"x".repeat(111)}`],
  [`3.0.0-python3.12-${"y".repeat(110)}-tail`, `3.0.0-python3.12-${"y".repeat(110)}`],
];

export const edgeCases = [
  "",
  " ",
  "-",
  "---a---",
  "'",
  "it's 'quoted'",
  "Ⅻ ﬁne ½ ™ ㎏",
  "ǅemal Ǆ",
  "İstanbul ıi",
  "ΣΑΣ σας",
  "Straße",
  "1,000,000 and 1, 2 ,3",
  "&#1635;,&#1636;",
  "&amp;amp; &lt;tag&gt; &quot;q&quot; &apos;",
  "&#65;&#x42;&#67; &#1114111; &#x10FFFF;",
  "&#65; &#1114112;",
  "&#x41; &#x110000;",
  `&#${"0".repeat(4299)}65;`,
  `&#${"0".repeat(4298)}65;`,
  "&#55296; lone",
  "&#0;",
  "&Agrave;&AElig;&szlig;&euro;&hellip;",
  "&#x1F600; &#128512;",
  "&#128512;&#128512;&#128512;x",
  "emoji 😀🦄👩‍👩‍👧 end",
  "\ud800 lone \udfff",
  "\u200b\u00a0\u2028\u2029\x85",
  "tab\tnew\nline\rcr",
  "北京 東京 서울",
  "Æ©",
  "\x80\x9f",
  "a".repeat(300),
  `${"word ".repeat(40)}end`,
];

/** Transliteration differences from Python's Unidecode 1.3.6, per NFKD-normalised character. */
export const divergences: [string, string, string][] = [
  // [input, ours, Python's]
  ["シ", "si", "shi"],
  ["₹", "", "Rs"],
  ["ᴀ", "", "A"],
  ["א", "", "A"],
  ["Є", "E", "Ie"],
  ["⓫", "", "11"],
  ["🅐", "", "(A)"],
];
