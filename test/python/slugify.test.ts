import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  isSluggable,
  pythonUtcIsoformat,
  slugify,
  slugifyImageTag,
  timestampTag,
} from "../../src/python/slugify.js";
import { prefectTags, refused, slugText, upstream } from "../support/slugify-cases.js";

describe("slugify (python-slugify's defaults: Prefect's push tag)", () => {
  it.each(upstream)("slugifies %j into %j (python-slugify's table)", (text, expected) => {
    expect(slugify(text)).toBe(expected);
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

describe("timestampTag (Prefect's default push tag)", () => {
  it("slugifies the UTC time in Python's isoformat, as Prefect does", () => {
    const micros = BigInt(Date.UTC(2026, 10, 27, 3, 52, 22)) * 1000n + 123_456n;
    expect(pythonUtcIsoformat(micros)).toBe("2026-11-27T03:52:22.123456+00:00");
    expect(timestampTag(micros)).toBe("2026-11-27t03-52-22-123456-00-00");
  });

  it("leaves the microseconds out when they are zero, as Python's isoformat does", () => {
    const micros = BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1000n;
    expect(timestampTag(micros)).toBe("2026-01-02t03-04-05-00-00");
  });
});

describe("slugifyImageTag (Prefect's image tag arguments)", () => {
  it.each(prefectTags)("slugifies the image tag %j as Prefect does: %j", (text, expected) => {
    expect(slugifyImageTag(text)).toBe(expected);
  });

  it("only ever yields Docker tag characters, at most 128 of them", () => {
    fc.assert(
      fc.property(slugText, slugText, (text, tail) => {
        const whole = text + "x".repeat(120) + tail;
        fc.pre(isSluggable(whole));
        const tag = slugifyImageTag(whole);
        expect(tag).toMatch(/^[a-zA-Z0-9_.-]*$/);
        expect(tag).not.toMatch(/^-|-$|--/);
        expect(tag.length).toBeLessThanOrEqual(128);
      }),
      { numRuns: 300 },
    );
  });
});

describe("text Prefect would transliterate or decode", () => {
  it.each(refused)("refuses %j with an error naming it", (text) => {
    expect(() => slugify(text)).toThrow(InvalidArgumentError);
    expect(() => slugifyImageTag(text)).toThrow(JSON.stringify(text));
  });
});
