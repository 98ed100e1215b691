// Differential tests against /usr/bin/python3 (the "python" vitest project): python-slugify
// 8.0.4 (a verbatim copy) and Debian's python-slugify, on Prefect's two calls.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { slugify, slugifyImageTag, toAscii } from "../../src/python/slugify.js";
import { type PySlugifyAnswer, type PySlugifyKwargs, PythonBatch } from "../support/python.js";
import {
  divergences,
  edgeCases,
  prefectTags,
  slugText,
  upstream,
} from "../support/slugify-cases.js";

/** Prefect's two calls: push_image's default tag and get_prefect_image_name's tag. */
type Call = "default" | "image-tag";
const KWARGS: Record<Call, PySlugifyKwargs> = {
  default: {},
  "image-tag": { lowercase: false, max_length: 128, regex_pattern: "[^a-zA-Z0-9_.-]+" },
};

// ---- the Python batch -------------------------------------------------------------------------

interface Case {
  readonly text: string;
  readonly call: Call;
  readonly ours: string;
  readonly pre: string;
  readonly out: string;
  readonly ref: number;
}

const py = new PythonBatch();

function queue(text: string, call: Call): Case {
  // What python-slugify hands its transliteration: the text with runs of ' made -, NFKD'd.
  const pre = text.replace(/'+/g, "-").normalize("NFKD");
  const out = toAscii(pre);
  const ours = call === "default" ? slugify(text) : slugifyImageTag(text);
  const ref = py.add({ op: "slugify", s: text, kw: KWARGS[call], translit: { pre, out } });
  return { text, call, ours, pre, out, ref };
}

const upstreamCases = upstream.map(([text]) => queue(text, "default"));
const prefectTagCases = prefectTags.map(([text]) => queue(text, "image-tag"));
const edgeCaseCases = edgeCases.flatMap((text) => [
  queue(text, "default"),
  queue(text, "image-tag"),
]);
const generatedDefault = fc
  .sample(slugText, { numRuns: 700, seed: 1 })
  .map((text) => queue(text, "default"));
const generatedPrefect = fc
  .sample(slugText, { numRuns: 700, seed: 2 })
  .map((text) => queue(text, "image-tag"));
/** python-slugify 5+ normalises before transliterating; Debian's 4.0.0 transliterates first. */
const versionSplit = queue("x™½", "image-tag");
const divergenceRefs = divergences.map(([input]) =>
  py.add({ op: "unidecode", s: input.normalize("NFKD") }),
);

beforeAll(() => py.run());

const isAscii = (text: string): boolean => Array.from(text).every((c) => c.charCodeAt(0) < 0x80);

interface Verdict {
  readonly mismatches: unknown[];
  /** Cases whose transliteration agrees with Python's, so the whole slug must match. */
  readonly endToEnd: number;
  /** Cases where only the transliteration differs (the pipeline still matched). */
  readonly translitOnly: number;
  /** ASCII-only cases where Debian's python-slugify 4.0.0 disagrees with the 8.0.4 copy. */
  readonly installedDisagrees: unknown[];
}

/**
 * Checks each case against Python: the pipeline with our transliteration substituted must
 * always match; the real python-slugify must match wherever the transliterations agree.
 */
function verdict(cases: readonly Case[]): Verdict {
  const mismatches: unknown[] = [];
  const installedDisagrees: unknown[] = [];
  let endToEnd = 0;
  let translitOnly = 0;
  for (const c of cases) {
    const answer = py.value<PySlugifyAnswer>(c.ref);
    const { v8, installed, withJsTranslit } = answer;
    const label = { text: c.text, call: c.call, ours: c.ours };
    if (!answer.preMatches) mismatches.push({ ...label, problem: "NFKD differs", pre: c.pre });
    if (!withJsTranslit?.ok || withJsTranslit.value !== c.ours) {
      mismatches.push({ ...label, problem: "pipeline", python: withJsTranslit });
    }
    if (c.out === answer.pyTranslit) {
      endToEnd++;
      if (!v8.ok || v8.value !== c.ours)
        mismatches.push({ ...label, problem: "end-to-end", python: v8 });
    } else {
      translitOnly++;
    }
    // On ASCII text both python-slugify versions run the same steps.
    if (isAscii(c.text) && JSON.stringify(installed) !== JSON.stringify(v8)) {
      installedDisagrees.push({ ...label, installed, v8 });
    }
  }
  return { mismatches, endToEnd, translitOnly, installedDisagrees };
}

// ---- tests ------------------------------------------------------------------------------------

describe("toAscii against Python's Unidecode", () => {
  it.each(divergences)(
    "differs from Python's Unidecode on %j: %j here, %j there (documented)",
    (input, ours, theirs) => {
      const i = divergences.findIndex(([text]) => text === input);
      expect(toAscii(input.normalize("NFKD"))).toBe(ours);
      expect(py.value(divergenceRefs[i] ?? -1)).toBe(theirs);
    },
  );
});

describe("parity with python-slugify in /usr/bin/python3", () => {
  it("agrees with python-slugify's own table", () => {
    const { mismatches, translitOnly } = verdict(upstreamCases);
    expect(mismatches).toEqual([]);
    expect(translitOnly).toBe(0);
  });

  it("agrees on Prefect's image tags", () => {
    const { mismatches, translitOnly } = verdict(prefectTagCases);
    expect(mismatches).toEqual([]);
    expect(translitOnly).toBe(0);
  });

  it(`agrees on ${edgeCaseCases.length} hand-picked edge cases`, () => {
    const { mismatches, translitOnly, installedDisagrees } = verdict(edgeCaseCases);
    expect(mismatches).toEqual([]);
    expect(translitOnly).toBe(0);
    expect(installedDisagrees).toEqual([]);
  });

  it("follows python-slugify 8.x, not Debian's 4.0.0, where their step order matters", () => {
    const answer = py.value<PySlugifyAnswer>(versionSplit.ref);
    expect(versionSplit.ours).toBe("xTM1-2");
    expect(answer.v8).toEqual({ ok: true, value: "xTM1-2" });
    expect(answer.installed).toEqual({ ok: true, value: "x-tm-1-2" });
  });

  it.each([
    ["default arguments", generatedDefault],
    ["Prefect's tag arguments", generatedPrefect],
  ])("agrees on generated text with %s", (_name, cases) => {
    const { mismatches, endToEnd, translitOnly, installedDisagrees } = verdict(cases);
    expect(mismatches).toEqual([]);
    expect(installedDisagrees).toEqual([]);
    // The transliteration tables differ on a few hundred of ~280,000 code points.
    expect(endToEnd).toBeGreaterThan(cases.length * 0.9);
    expect(endToEnd + translitOnly).toBe(cases.length);
  });
});
