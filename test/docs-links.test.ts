// The documentation's relative links land: every link and image in the README, CONTRIBUTING.md,
// docs/ and bench/README.md names a file that exists, and every #anchor a heading of the page it
// points at, as GitHub renders them. Also held here: the README stays a short page with contents.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");

/** The Markdown files users and contributors read, relative to the repository. */
function markdownFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  return ["README.md", "CONTRIBUTING.md", "bench/README.md", "proto/README.md", ...docs];
}

/** The text outside fenced code blocks and inline code, where links are links. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/**
 * GitHub's anchor for a heading (github-slugger): the rendered text lower-cased, everything but
 * letters, marks, digits, `_`, `-` and spaces dropped, spaces made `-`.
 */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/<[^>]+>/g, "")
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

/** Every anchor a Markdown file has: its headings' slugs, with GitHub's `-1`, `-2` for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const [, heading] of withoutCode.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const base = slug(heading as string);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const [, id] of markdown.matchAll(/<a (?:id|name)="([^"]+)"/g)) anchors.add(id as string);
  return anchors;
}

/** Each relative link of a Markdown file: inline links and images, `[text](target)`. */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const [, target] of prose(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(target as string)) links.push(target as string);
  }
  return links;
}

/** What is wrong with `target` as a link from `from` (a repository path), or undefined. */
function brokenLink(from: string, target: string): string | undefined {
  const [file = "", anchor] = target.split("#", 2) as [string, string | undefined];
  const resolved =
    file === "" ? from : path.posix.normalize(path.posix.join(path.posix.dirname(from), file));
  if (resolved.startsWith("../")) return `${target}: leads out of the repository`;
  const full = path.join(ROOT, resolved);
  if (!existsSync(full)) return `${target}: ${resolved} does not exist`;
  if (anchor === undefined) return undefined;
  if (!statSync(full).isFile() || !resolved.endsWith(".md")) {
    return `${target}: an anchor into ${resolved}, which is not a Markdown file`;
  }
  if (!anchorsOf(readFileSync(full, "utf8")).has(decodeURIComponent(anchor))) {
    return `${target}: ${resolved} has no heading #${anchor}`;
  }
  return undefined;
}

describe("the documentation's links", () => {
  it.each(markdownFiles())("land where %s points, files and anchors", (file) => {
    const markdown = readFileSync(path.join(ROOT, file), "utf8");
    const broken = relativeLinks(markdown)
      .map((target) => brokenLink(file, target))
      .filter((problem) => problem !== undefined);
    expect(broken).toEqual([]);
  });

  it("are checked: a missing file, a missing anchor and a link out of the repository fail", () => {
    expect(brokenLink("README.md", "docs/no-such-page.md")).toMatch(/does not exist/);
    expect(brokenLink("README.md", "docs/engines.md#no-such-heading")).toMatch(/no heading/);
    expect(brokenLink("README.md", "#no-such-heading")).toMatch(/no heading/);
    expect(brokenLink("docs/engines.md", "../../outside.md")).toMatch(/out of the repository/);
    expect(brokenLink("docs/engines.md", "../README.md#install")).toBeUndefined();
  });

  it.each([
    ["### `ssh://` engines", "ssh-engines"],
    ["## ImageBuilder.copy()", "imagebuildercopy"],
    ["## Transport: gRPC on `node:http2`", "transport-grpc-on-nodehttp2"],
    ["## build_docker_image inputs", "build_docker_image-inputs"],
    ["## Other platforms than the engine's", "other-platforms-than-the-engines"],
    ["## [Linked](x.md) heading", "linked-heading"],
  ])("slugs %j as GitHub does: #%s", (heading, anchor) => {
    expect(slug(heading.replace(/^#+ /, ""))).toBe(anchor);
  });

  it("numbers repeated headings as GitHub does", () => {
    const anchors = anchorsOf("## Results\n\n```md\n## Not a heading\n```\n\n## Results\n");
    expect([...anchors]).toEqual(["results", "results-1"]);
  });
});

describe("the README", () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");

  it("stays a page of at most 400 lines", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(400);
  });

  it("opens with contents that link every section", () => {
    const contents = readme.slice(
      readme.indexOf("## Contents"),
      readme.indexOf("\n## ", readme.indexOf("## Contents") + 1),
    );
    const listed = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
    const sections = [...readme.matchAll(/^## (.+)$/gm)]
      .map((m) => slug(m[1] as string))
      .filter((anchor) => anchor !== "contents");
    expect(listed).toEqual(sections);
  });

  it("links every page of docs/", () => {
    const linked = new Set(relativeLinks(readme).map((target) => target.split("#")[0]));
    const pages = readdirSync(path.join(ROOT, "docs")).filter((name) => name.endsWith(".md"));
    expect(pages.filter((name) => !linked.has(`docs/${name}`))).toEqual([]);
  });
});
