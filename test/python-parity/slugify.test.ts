// Differential tests against /usr/bin/python3 (the "python" vitest project): python-slugify
// 8.0.4 (a verbatim copy) and Debian's python-slugify, on Prefect's two calls and the text they
// see (ASCII: a timestamp, a PEP 440 version, a Python version and an image flavor).
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { slugify, slugifyImageTag, timestampTag } from "../../src/python/slugify.js";
import { type PySlugifyAnswer, type PySlugifyKwargs, PythonBatch } from "../support/python.js";
import { edgeCases, prefectTags, slugText, upstream } from "../support/slugify-cases.js";

/** Prefect's two calls: push_image's default tag and get_prefect_image_name's tag. */
type Call = "default" | "image-tag";
const KWARGS: Record<Call, PySlugifyKwargs> = {
  default: {},
  "image-tag": { lowercase: false, max_length: 128, regex_pattern: "[^a-zA-Z0-9_.-]+" },
};

interface Case {
  readonly text: string;
  readonly call: Call;
  readonly ours: string;
  readonly ref: number;
}

const py = new PythonBatch();

function queue(text: string, call: Call, ours?: string): Case {
  const slug = ours ?? (call === "default" ? slugify(text) : slugifyImageTag(text));
  return { text, call, ours: slug, ref: py.add({ op: "slugify", s: text, kw: KWARGS[call] }) };
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
// Any instant from 1970 to 2100, with and without microseconds.
const generatedTimestamps = fc
  .sample(fc.bigInt({ min: 0n, max: 4_102_444_800_000_000n }), { numRuns: 300, seed: 3 })
  .flatMap((micros) => [micros, micros - (micros % 1_000_000n)])
  .map((micros) => {
    const seconds = Number(micros / 1_000_000n);
    const fraction = micros % 1_000_000n;
    const iso = `${new Date(seconds * 1000).toISOString().slice(0, 19)}${fraction === 0n ? "" : `.${String(fraction).padStart(6, "0")}`}+00:00`;
    return queue(iso, "default", timestampTag(micros));
  });

beforeAll(() => py.run());

/** The cases where ours differs from python-slugify 8.0.4 (or, on ASCII, from Debian's 4.0.0). */
function mismatches(cases: readonly Case[]): unknown[] {
  return cases.flatMap((c) => {
    const { v8, installed } = py.value<PySlugifyAnswer>(c.ref);
    // Debian's 4.0.0 transliterates before it decomposes: the two agree on ASCII text only.
    const ascii = /^\p{ASCII}*$/u.test(c.text);
    const ok =
      v8.ok && v8.value === c.ours && (!ascii || JSON.stringify(installed) === JSON.stringify(v8));
    return ok ? [] : [{ text: c.text, call: c.call, ours: c.ours, v8, installed }];
  });
}

describe("parity with python-slugify in /usr/bin/python3", () => {
  it.each([
    ["python-slugify's own table", upstreamCases],
    ["Prefect's image tags", prefectTagCases],
    [`${edgeCaseCases.length} hand-picked edge cases`, edgeCaseCases],
    ["generated text with default arguments", generatedDefault],
    ["generated text with Prefect's tag arguments", generatedPrefect],
    [
      `${generatedTimestamps.length} generated UTC timestamps (push_image's tag)`,
      generatedTimestamps,
    ],
  ])("agrees on %s", (_name, cases) => {
    expect(mismatches(cases)).toEqual([]);
  });
});
