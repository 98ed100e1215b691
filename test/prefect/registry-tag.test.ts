// Whether an image keeps a name once pushImage's registry tag is removed: the rule that decides
// whether the tag may go (else the image would be deleted with it).
import { describe, expect, it } from "vitest";
import { keepsAnotherName } from "../../src/prefect/registry-tag.js";

const reference = "127.0.0.1:5555/team/app:v1";
const digest = `sha256:${"a".repeat(64)}`;

describe("keepsAnotherName", () => {
  it.each([
    ["only the registry tag", [reference], [], false],
    ["no names at all", [], [], false],
    [
      "only the tag and its repository's digest",
      [reference],
      [`127.0.0.1:5555/team/app@${digest}`],
      false,
    ],
    ["a tag of its own", [reference, "localhost/app:dev"], [], true],
    ["another tag of the same repository", [reference, "127.0.0.1:5555/team/app:v2"], [], true],
    ["a digest of another repository", [reference], [`busybox@${digest}`], true],
    ["the same tag written another way", ["127.0.0.1:5555/team/app:v1"], [], false],
    ["a Docker Hub name as the engine shows it", ["app:v1"], [], true],
    [
      "only names it cannot read",
      [reference, "<none>:<none>", "NOT A NAME"],
      ["<none>@<none>"],
      false,
    ],
  ])("%s: %s", (_what, tags, digests, expected) => {
    expect(keepsAnotherName({ RepoTags: tags, RepoDigests: digests }, reference)).toBe(expected);
  });

  it("reads a Docker Hub tag the way the engine shows it", () => {
    // The engine lists docker.io/library/app:v1 as app:v1: that is the same name, not another.
    expect(keepsAnotherName({ RepoTags: ["app:v1"] }, "docker.io/library/app:v1")).toBe(false);
    expect(keepsAnotherName({ RepoTags: ["app:v1", "app:v2"] }, "docker.io/app:v1")).toBe(true);
  });

  it("keeps the tag when the engine's answer is not what it should be", () => {
    expect(keepsAnotherName({ RepoTags: "app:v1" }, reference)).toBe(false);
    expect(keepsAnotherName({ RepoTags: [1, null] }, reference)).toBe(false);
    expect(keepsAnotherName({}, reference)).toBe(false);
  });
});
