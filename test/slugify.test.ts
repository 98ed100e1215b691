import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { slugify, slugifyImageTag, toAscii } from "../src/python/slugify.js";
import { prefectTags, slugText, upstream } from "./support/slugify-cases.js";

describe("slugify (python-slugify's defaults: Prefect's push tag)", () => {
  it.each(upstream)("slugifies %j into %j (python-slugify's table)", (text, expected) => {
    expect(slugify(text)).toBe(expected);
  });

  it("turns a UTC timestamp into pushImage's default tag, as Prefect does", () => {
    expect(slugify("2026-11-27T03:52:22.123456+00:00")).toBe("2026-11-27t03-52-22-123456-00-00");
  });

  it("only ever yields lower-case letters, digits and single inner dashes", () => {
    fc.assert(
      fc.property(slugText, (text) => {
        expect(slugify(text)).toMatch(/^(?:[a-z0-9]+(?:-[a-z0-9]+)*)?$/);
      }),
      { numRuns: 300 },
    );
  });
});

describe("slugifyImageTag (Prefect's image tag arguments)", () => {
  it.each(prefectTags)("slugifies the image tag %j as Prefect does: %j", (text, expected) => {
    expect(slugifyImageTag(text)).toBe(expected);
  });

  it("decodes no decimal reference at all when one is out of range, as Python's try/except does", () => {
    expect(slugifyImageTag("&#65; &#1114112;")).toBe("65-1114112");
    expect(slugifyImageTag("&#65; &#1114111;")).toBe("A");
  });

  it("only ever yields Docker tag characters, at most 128 of them", () => {
    fc.assert(
      fc.property(slugText, fc.string({ maxLength: 200 }), (text, tail) => {
        const tag = slugifyImageTag(text + tail);
        expect(tag).toMatch(/^[a-zA-Z0-9_.-]*$/);
        expect(tag).not.toMatch(/^-|-$|--/);
        expect(tag.length).toBeLessThanOrEqual(128);
      }),
      { numRuns: 300 },
    );
  });
});

describe("toAscii", () => {
  it.each([
    ["Компьютер", "Komp'iuter"],
    ["北京", "Bei Jing "],
    ["ß", "ss"],
    ["Æ©", "AE(c)"],
    ["\x85\x9f", ""],
    ["\u2028\u2029", "\n\n\n"],
    ["\ud800", ""],
    ["ə ¤ ⇖", "@ $? \\"],
    ["\u4db1", ""],
    ["ascii stays", "ascii stays"],
  ])("transliterates %j to %j", (input, expected) => {
    expect(toAscii(input)).toBe(expected);
  });

  it("always returns ASCII", () => {
    fc.assert(
      fc.property(slugText, (text) => {
        expect(Array.from(toAscii(text)).every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
