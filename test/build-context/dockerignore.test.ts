import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cleanPath,
  type MatchInfo,
  PatternMatcher,
  parseDockerignore,
} from "../../src/build-context/dockerignore.js";
import { InvalidArgumentError } from "../../src/errors.js";

/** Matches `file` the way a walker does: each parent folder first, handing its results down. */
function walkMatch(matcher: PatternMatcher, file: string): boolean {
  const parts = file.split("/");
  // Go's filepath.Dir("a/b/") is "a/b": a trailing slash leaves an empty last element.
  const parents = parts.slice(0, -1);
  let info: MatchInfo | undefined;
  for (let depth = 1; depth <= parents.length; depth++) {
    info = matcher.matchesUsingParentResults(parents.slice(0, depth).join("/"), info).info;
  }
  return matcher.matchesUsingParentResults(file, info).matched;
}

function exactMatch(patterns: string[], file: string): boolean {
  const matcher = new PatternMatcher(patterns);
  return matcher.matchesUsingParentResults(
    file,
    patterns.map(() => false),
  ).matched;
}

type Pass = "exact" | "inexact" | "fail";

// moby/patternmatcher's TestMatches table (patternmatcher_test.go), Linux cases.
const MOBY_MATCHES: [pattern: string, text: string, pass: Pass][] = [
  ["**", "file", "exact"],
  ["**", "file/", "exact"],
  ["**/", "file", "exact"],
  ["**/", "file/", "exact"],
  ["**", "/", "exact"],
  ["**/", "/", "exact"],
  ["**", "dir/file", "exact"],
  ["**/", "dir/file", "exact"],
  ["**", "dir/file/", "exact"],
  ["**/", "dir/file/", "exact"],
  ["**/**", "dir/file", "exact"],
  ["**/**", "dir/file/", "exact"],
  ["dir/**", "dir/file", "exact"],
  ["dir/**", "dir/file/", "exact"],
  ["dir/**", "dir/dir2/file", "exact"],
  ["dir/**", "dir/dir2/file/", "exact"],
  ["**/dir", "dir", "exact"],
  ["**/dir", "dir/file", "inexact"],
  ["**/dir2/*", "dir/dir2/file", "exact"],
  ["**/dir2/*", "dir/dir2/file/", "inexact"],
  ["**/dir2/**", "dir/dir2/dir3/file", "exact"],
  ["**/dir2/**", "dir/dir2/dir3/file/", "exact"],
  ["**file", "file", "exact"],
  ["**file", "dir/file", "exact"],
  ["**/file", "dir/file", "exact"],
  ["**file", "dir/dir/file", "exact"],
  ["**/file", "dir/dir/file", "exact"],
  ["**/file*", "dir/dir/file", "exact"],
  ["**/file*", "dir/dir/file.txt", "exact"],
  ["**/file*txt", "dir/dir/file.txt", "exact"],
  ["**/file*.txt", "dir/dir/file.txt", "exact"],
  ["**/file*.txt*", "dir/dir/file.txt", "exact"],
  ["**/**/*.txt", "dir/dir/file.txt", "exact"],
  ["**/**/*.txt2", "dir/dir/file.txt", "fail"],
  ["**/*.txt", "file.txt", "exact"],
  ["**/**/*.txt", "file.txt", "exact"],
  ["a**/*.txt", "a/file.txt", "exact"],
  ["a**/*.txt", "a/dir/file.txt", "exact"],
  ["a**/*.txt", "a/dir/dir/file.txt", "exact"],
  ["a/*.txt", "a/dir/file.txt", "fail"],
  ["a/*.txt", "a/file.txt", "exact"],
  ["a/*.txt**", "a/file.txt", "exact"],
  ["a[b-d]e", "ae", "fail"],
  ["a[b-d]e", "ace", "exact"],
  ["a[b-d]e", "aae", "fail"],
  ["a[^b-d]e", "aze", "exact"],
  [".*", ".foo", "exact"],
  [".*", "foo", "fail"],
  ["abc.def", "abcdef", "fail"],
  ["abc.def", "abc.def", "exact"],
  ["abc.def", "abcZdef", "fail"],
  ["abc?def", "abcZdef", "exact"],
  ["abc?def", "abcdef", "fail"],
  ["**/foo/bar", "foo/bar", "exact"],
  ["**/foo/bar", "dir/foo/bar", "exact"],
  ["**/foo/bar", "dir/dir2/foo/bar", "exact"],
  ["abc/**", "abc", "fail"],
  ["abc/**", "abc/def", "exact"],
  ["abc/**", "abc/def/ghi", "exact"],
  ["**/.foo", ".foo", "exact"],
  ["**/.foo", "bar.foo", "fail"],
  ["a(b)c/def", "a(b)c/def", "exact"],
  ["a(b)c/def", "a(b)c/xyz", "fail"],
  ["a.|)$(}+{bc", "a.|)$(}+{bc", "exact"],
  [
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    "exact",
  ],
  ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "exact"],
  ["a\\\\", "a\\", "exact"],
  ["a\\*b", "a*b", "exact"],
];

// moby/patternmatcher's multiPatternTests.
const MOBY_MULTI: [patterns: string[], text: string, excluded: boolean][] = [
  [["**", "!util/docker/web"], "util/docker/web/foo", false],
  [["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true],
  [
    ["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    false,
  ],
  [["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
];

// moby/patternmatcher's matchTests, taken from Go's filepath.Match tests.
const GO_MATCH: [pattern: string, text: string, result: boolean | "error"][] = [
  ["abc", "abc", true],
  ["*", "abc", true],
  ["*c", "abc", true],
  ["a*", "a", true],
  ["a*", "abc", true],
  ["a*", "ab/c", true],
  ["a*/b", "abc/b", true],
  ["a*/b", "a/c/b", false],
  ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
  ["a*b?c*x", "abxbbxdbxebxczzx", true],
  ["a*b?c*x", "abxbbxdbxebxczzy", false],
  ["ab[c]", "abc", true],
  ["ab[b-d]", "abc", true],
  ["ab[e-g]", "abc", false],
  ["ab[^c]", "abc", false],
  ["ab[^b-d]", "abc", false],
  ["ab[^e-g]", "abc", true],
  ["a\\*b", "a*b", true],
  ["a\\*b", "ab", false],
  ["a?b", "a☺b", true],
  ["a[^a]b", "a☺b", true],
  ["a???b", "a☺b", false],
  ["a[^a][^a][^a]b", "a☺b", false],
  ["[a-ζ]*", "α", true],
  ["*[a-ζ]", "A", false],
  ["a?b", "a/b", false],
  ["a*b", "a/b", false],
  ["[\\]a]", "]", true],
  ["[\\-]", "-", true],
  ["[x\\-]", "x", true],
  ["[x\\-]", "-", true],
  ["[x\\-]", "z", false],
  ["[\\-x]", "x", true],
  ["[\\-x]", "-", true],
  ["[\\-x]", "a", false],
  ["[]a]", "]", "error"],
  ["[-]", "-", "error"],
  ["[x-]", "x", "error"],
  ["[x-]", "-", "error"],
  ["[x-]", "z", "error"],
  ["[-x]", "x", "error"],
  ["[-x]", "-", "error"],
  ["[-x]", "a", "error"],
  ["\\", "a", "error"],
  ["[a-b-c]", "a", "error"],
  ["[", "a", "error"],
  ["[^", "a", "error"],
  ["[^bc", "a", "error"],
  ["a[", "a", "error"],
  ["a[", "ab", "error"],
  ["*x", "xxx", true],
];

describe("PatternMatcher", () => {
  it.each(MOBY_MATCHES)("pattern %j against %j is %s (moby's table)", (pattern, text, pass) => {
    const matcher = new PatternMatcher([pattern]);
    expect(exactMatch([pattern], text)).toBe(pass === "exact");
    expect(matcher.matches(text)).toBe(pass !== "fail");
    expect(walkMatch(matcher, text)).toBe(pass !== "fail");
  });

  it.each(MOBY_MULTI)("patterns %j exclude %j: %s (moby's table)", (patterns, text, excluded) => {
    const matcher = new PatternMatcher(patterns);
    expect(matcher.matches(text)).toBe(excluded);
    expect(walkMatch(matcher, text)).toBe(excluded);
  });

  it.each(GO_MATCH)(
    "glob %j against %j gives %s (Go filepath.Match table)",
    (pattern, text, result) => {
      if (result === "error") {
        expect(() => new PatternMatcher([pattern])).toThrow(InvalidArgumentError);
      } else {
        expect(new PatternMatcher([pattern]).matches(text)).toBe(result);
      }
    },
  );

  it("rejects a lone exception mark", () => {
    expect(() => new PatternMatcher(["!"])).toThrow('illegal exclusion pattern: "!"');
  });

  it("excludes nothing without patterns and skips blank ones", () => {
    const matcher = new PatternMatcher(["", "   "]);
    expect(matcher.empty).toBe(true);
    expect(matcher.matches("any/path/there")).toBe(false);
  });

  it("reports exceptions, with surrounding spaces trimmed", () => {
    expect(new PatternMatcher(["docs", "  !docs/README.md  "]).exclusions).toBe(true);
    expect(new PatternMatcher(["docs"]).exclusions).toBe(false);
  });

  it.each([
    [["fileutils.go", "*"], true],
    [["fileutils.go", "*.go"], true],
    [["fileutils.go", "!fileutils.go", "*.go"], true],
    [["docs/README.md", "docs", "!docs/README.md"], false],
    [["docs/README.md", "docs/", "!docs/README.md"], false],
    [["docs/README.md", "docs/*", "!docs/README.md"], false],
    [["fileutils.go", "*.go", "!fileutils.go"], false],
  ])("matches moby's single-file cases: %j → %s", ([file, ...patterns], excluded) => {
    expect(new PatternMatcher(patterns).matches(file as string)).toBe(excluded);
  });

  it("matches whole path segments only", () => {
    const matcher = new PatternMatcher(["node_modules"]);
    expect(matcher.matches("node_modules")).toBe(true);
    expect(matcher.matches("node_modules/a/b.js")).toBe(true);
    expect(matcher.matches("node_modules-old")).toBe(false);
    expect(matcher.matches("node_modules-old/x")).toBe(false);
    expect(matcher.matches("src/node_modules")).toBe(false);
  });

  it("is case-sensitive", () => {
    expect(new PatternMatcher(["*.MD"]).matches("README.md")).toBe(false);
    expect(new PatternMatcher(["*.md"]).matches("README.md")).toBe(true);
  });

  it("treats Go regexp escapes as moby does", () => {
    expect(new PatternMatcher(["v\\d"]).matches("v1")).toBe(true);
    expect(new PatternMatcher(["v\\d"]).matches("vd")).toBe(false);
    expect(() => new PatternMatcher(["a\\q"])).toThrow(InvalidArgumentError);
  });

  it("prunes excluded folders only when no exception can match below them", () => {
    const prune = (patterns: string[], dir: string): boolean => {
      const matcher = new PatternMatcher(patterns);
      const { matched, info } = matcher.matchesUsingParentResults(dir, undefined);
      expect(matched).toBe(true);
      return !matcher.mayIncludeBelow(dir, info);
    };
    expect(prune(["node_modules"], "node_modules")).toBe(true);
    expect(prune(["node_modules", "!src/keep"], "node_modules")).toBe(true);
    expect(prune(["node_modules", "!node_modules/keep"], "node_modules")).toBe(false);
    expect(prune(["node_modules", "!node_modules/*/package.json"], "node_modules")).toBe(false);
    expect(prune(["node_modules", "!**/package.json"], "node_modules")).toBe(false);
    expect(prune(["node_modules", "!other/**"], "node_modules")).toBe(true);
    expect(prune(["node_modules", "!node_modules/**"], "node_modules")).toBe(false);
    expect(prune(["*", "!a*/b"], "abc")).toBe(false);
    expect(prune(["*", "!a*/b"], "xbc")).toBe(true);
    expect(prune(["*", "![a]/b"], "x")).toBe(false);
  });

  it("never prunes a folder below which a path is re-included (property)", () => {
    const segment = fc.constantFrom("a", "b", "ab", "node_modules", "x.txt", "keep");
    const globSegment = fc.constantFrom("a", "b", "*", "a*", "?b", "**", "keep", "node_modules");
    const pattern = fc
      .tuple(fc.boolean(), fc.array(globSegment, { minLength: 1, maxLength: 3 }))
      .map(([exclusion, parts]) => `${exclusion ? "!" : ""}${parts.join("/")}`);
    fc.assert(
      fc.property(
        fc.array(pattern, { minLength: 1, maxLength: 5 }),
        fc.array(segment, { minLength: 2, maxLength: 4 }),
        (patterns, parts) => {
          const matcher = new PatternMatcher(patterns);
          const file = parts.join("/");
          if (matcher.matches(file)) return;
          // `file` is sent: no excluded ancestor may have been pruned.
          let info: MatchInfo | undefined;
          for (let depth = 1; depth < parts.length; depth++) {
            const dir = parts.slice(0, depth).join("/");
            const result = matcher.matchesUsingParentResults(dir, info);
            if (result.matched) expect(matcher.mayIncludeBelow(dir, result.info)).toBe(true);
            info = result.info;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("parseDockerignore", () => {
  it("reads lines like moby's ignorefile.ReadAll", () => {
    const content =
      "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
    expect(parseDockerignore(content)).toEqual([
      "test1",
      "test2",
      "a/file/here",
      "lastfile",
      "!inverted/abs/path",
      "!",
      "!",
    ]);
  });

  it("drops a BOM and CRLF line ends, keeps indented # as a pattern", () => {
    expect(parseDockerignore("\ufeff# c\r\n./a//b/\r\n  # x\r\n")).toEqual(["a/b", "# x"]);
  });

  it("cleans paths like Go's path.Clean", () => {
    expect(cleanPath("")).toBe(".");
    expect(cleanPath("./a//b/../c/")).toBe("a/c");
    expect(cleanPath("a/../..")).toBe("..");
    expect(cleanPath("/../a")).toBe("/a");
    expect(cleanPath("/")).toBe("/");
  });
});

// The examples from Docker's .dockerignore documentation.
describe("Docker's documented .dockerignore examples", () => {
  const docs = "# comment\n*/temp*\n*/*/temp*\ntemp?\n";
  it.each([
    ["somedir/temporary.txt", true],
    ["somedir/temp", true],
    ["somedir/subdir/temporary.txt", true],
    ["tempa", true],
    ["tempb", true],
    ["temporary.txt", false],
    ["a/b/c/temp.txt", false],
    ["comment", false],
  ])("first example: %s excluded=%s", (file, excluded) => {
    expect(new PatternMatcher(parseDockerignore(docs)).matches(file)).toBe(excluded);
  });

  it.each([
    ["*.md\n!README.md", { "README.md": false, "CHANGES.md": true, "docs/x.md": false }],
    [
      "*.md\n!README*.md\nREADME-secret.md",
      { "README.md": false, "README-secret.md": true, "README-public.md": false, "x.md": true },
    ],
    [
      "*.md\nREADME-secret.md\n!README*.md",
      { "README.md": false, "README-secret.md": false, "x.md": true },
    ],
    ["**/*.go", { "main.go": true, "a/b/c.go": true, "a/b/c.golden": false }],
  ])("%j", (text, expected) => {
    const matcher = new PatternMatcher(parseDockerignore(text));
    for (const [file, excluded] of Object.entries(expected)) {
      expect([file, matcher.matches(file)]).toEqual([file, excluded]);
    }
  });
});
