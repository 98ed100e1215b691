import fc from "fast-check";

export const argUnit = fc.oneof(
  { arbitrary: fc.constantFrom("'", '"', "\\", " ", "\n", "\t", "$", "&&", "é", "😀"), weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }), weight: 5 },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 2 },
  {
    arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    weight: 1,
  },
);
export const arg = fc.string({ unit: argUnit, maxLength: 10 });
export const argList = fc.array(arg, { maxLength: 5 });

export const handPicked: [readonly string[], string][] = [
  [[], ""],
  [["echo"], "RUN echo"],
  [["pip", "install", "prefect"], "RUN pip 'install' 'prefect'"],
  [["pip", "install", "prefect>=3,<4"], "RUN pip 'install' 'prefect>=3,<4'"],
  [["echo 'as is'", "it's"], `RUN echo 'as is' "it's"`],
  [["sh", "-c", `echo "it's"`], `RUN sh '-c' 'echo "it\\'s"'`],
  [["printf", "a\nb\\c"], "RUN printf 'a\\nb\\\\c'"],
  [["echo", ""], "RUN echo ''"],
  [["", "x"], "RUN  'x'"],
  [["echo", "héllo", "😀", "\u200b"], "RUN echo 'héllo' '😀' '\\u200b'"],
  [["echo", "\ud800"], "RUN echo '\\ud800'"],
];
