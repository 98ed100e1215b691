import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAuthChallenges } from "../../src/registry/auth-challenge.js";

const plain = (values: readonly string[] | string | undefined) =>
  parseAuthChallenges(values).map(({ scheme, params }) => ({
    scheme,
    params: Object.fromEntries(params),
  }));

describe("parseAuthChallenges", () => {
  it.each([
    [
      "the htpasswd registry's Basic challenge",
      'Basic realm="prefect-dockerutils-test"',
      [{ scheme: "basic", params: { realm: "prefect-dockerutils-test" } }],
    ],
    [
      "a token registry's Bearer challenge",
      'Bearer realm="http://127.0.0.1:5558/token",service="pdu-token-registry"',
      [
        {
          scheme: "bearer",
          params: { realm: "http://127.0.0.1:5558/token", service: "pdu-token-registry" },
        },
      ],
    ],
    [
      "Docker Hub's, with a scope holding commas and colons",
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"',
      [
        {
          scheme: "bearer",
          params: {
            realm: "https://auth.docker.io/token",
            service: "registry.docker.io",
            scope: "repository:library/busybox:pull,push",
          },
        },
      ],
    ],
    [
      "an insufficient_scope error",
      'Bearer realm="https://a/t",error="insufficient_scope",scope="repository:x:push"',
      [
        {
          scheme: "bearer",
          params: { realm: "https://a/t", error: "insufficient_scope", scope: "repository:x:push" },
        },
      ],
    ],
    [
      "two challenges in one value, spaces around = and a token value",
      'Basic realm = "a b", charset=UTF-8, Bearer realm="https://t"',
      [
        { scheme: "basic", params: { realm: "a b", charset: "UTF-8" } },
        { scheme: "bearer", params: { realm: "https://t" } },
      ],
    ],
    [
      "escapes in a quoted string, upper-case names",
      'BEARER Realm="say \\"hi\\" \\\\ there"',
      [{ scheme: "bearer", params: { realm: 'say "hi" \\ there' } }],
    ],
    ["a scheme alone", "Negotiate", [{ scheme: "negotiate", params: {} }]],
    [
      "an unterminated quoted string, which runs to the end",
      'Bearer realm="https://t',
      [{ scheme: "bearer", params: { realm: "https://t" } }],
    ],
    ["nothing", "", []],
    [
      "the first of a repeated parameter",
      'Bearer realm="one",realm="two"',
      [{ scheme: "bearer", params: { realm: "one" } }],
    ],
  ])("reads %s", (_name, header, expected) => {
    expect(plain(header)).toEqual(expected);
  });

  it("reads every value of a header given several times, in order", () => {
    expect(plain(['Basic realm="r"', 'Bearer realm="https://t",service="s"'])).toEqual([
      { scheme: "basic", params: { realm: "r" } },
      { scheme: "bearer", params: { realm: "https://t", service: "s" } },
    ]);
  });

  it("takes no header as no challenge", () => {
    expect(plain(undefined)).toEqual([]);
  });

  it("skips what is not a challenge without throwing", () => {
    expect(plain('= "x", ,,, Basic realm="r" junk "y"')).toEqual([
      { scheme: "basic", params: { realm: "r" } },
      { scheme: "junk", params: {} },
    ]);
  });

  it("bounds what it reads: values, challenges, parameters", () => {
    const many = Array.from({ length: 100 }, (_, i) => `Basic realm="${i}"`).join(", ");
    expect(parseAuthChallenges(many)).toHaveLength(16);
    const params = Array.from({ length: 100 }, (_, i) => `p${i}=v`).join(",");
    expect(parseAuthChallenges(`Bearer ${params}`)[0]?.params.size).toBe(32);
  });

  it("never throws and runs in linear time on any input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        parseAuthChallenges([text, text]);
      }),
    );
    const hostile = `Bearer ${'a="'.repeat(5_000)}${"\\".repeat(5_000)}`;
    const started = performance.now();
    parseAuthChallenges(hostile);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
