// The engine's checks of caller strings that become request paths: image IDs, tags and repository
// names (issues 8 and 12).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkImageId, checkRepositoryName, checkTag } from "../../src/engine/image-reference.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { HOSTILE_IMAGE_IDS } from "../support/hostile-ids.js";

const IMAGE = `sha256:${"a".repeat(64)}`;

describe("image IDs", () => {
  it.each([
    IMAGE,
    "0123456789ab",
    "a".repeat(64),
    "busybox",
    "busybox:latest",
    "localhost:5000/team/app:1.0",
    `ghcr.io/team/app@sha256:${"b".repeat(64)}`,
    "Registry.Example.com:443/app",
  ])("accepts %j", (id) => {
    expect(checkImageId(id, "imageId")).toBe(id);
  });

  it.each(HOSTILE_IMAGE_IDS.map((id) => [id.length > 60 ? `${id.slice(0, 60)}...` : id, id]))(
    "refuses %j",
    (_shown, id) => {
      expect(() => checkImageId(id, "imageId")).toThrow(InvalidArgumentError);
    },
  );

  it("shows at most 100 characters of a long one", () => {
    expect(() => checkImageId("A".repeat(100_000), "imageId")).toThrow(/\(100000 characters\)$/);
  });

  it("accepts nothing that could leave its path segment", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (id) => {
        let accepted = false;
        try {
          checkImageId(id, "imageId");
          accepted = true;
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
        }
        if (accepted) expect(id).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9._:/@-]*$/);
        if (accepted) expect(id.split("/")).not.toContain("..");
      }),
    );
  });
});

describe("tags and names", () => {
  it("keeps the tags and names the engine accepts", () => {
    expect(checkTag("2026-11-27t03-52-22-123456-00-00", "tag")).toBe(
      "2026-11-27t03-52-22-123456-00-00",
    );
    expect(checkRepositoryName("team/app-1.x__y", "127.0.0.1:5555")).toBe("team/app-1.x__y");
  });
});
