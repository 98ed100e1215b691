// The metadata of an engine's call as BuildKit's own file-sync server reads it: repeated keys as
// lists, raw UTF-8 values (the 20.10 engine) and percent-encoded ones (newer BuildKit), and
// nothing guessed when a value cannot be read.
import { describe, expect, it } from "vitest";
import { CallMetadata } from "../../src/buildkit/call-metadata.js";
import { BuildContextError } from "../../src/errors.js";

/** Node's rawHeaders for `pairs`: each value a Latin-1 string of its UTF-8 bytes, as sent. */
const raw = (pairs: [string, string][]) =>
  pairs.flatMap(([name, value]) => [name, Buffer.from(value, "utf8").toString("latin1")]);

/** Go's url.QueryEscape, as BuildKit's encodeStringForHeader applies it. */
const queryEscape = (value: string) =>
  [...Buffer.from(value, "utf8")]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      if (/[A-Za-z0-9\-_.~]/.test(char)) return char;
      if (char === " ") return "+";
      return `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");

describe("CallMetadata", () => {
  it("reads a key sent several times as its values in order, commas and spaces kept", () => {
    const metadata = new CallMetadata([
      ":path",
      "/moby.filesync.v1.FileSync/DiffCopy",
      ...raw([
        ["exclude-patterns", "x.{key,pem}"],
        ["dir-name", "context"],
        ["exclude-patterns", "a, b"],
        ["Exclude-Patterns", "*.log"],
      ]),
    ]);
    expect(metadata.values("exclude-patterns")).toEqual(["x.{key,pem}", "a, b", "*.log"]);
    expect(metadata.first("dir-name")).toBe("context");
    expect(metadata.values("include-patterns")).toEqual([]);
    expect(metadata.values(":path")).toEqual([]);
  });

  it("decodes the raw UTF-8 bytes the 20.10 engine sends", () => {
    const metadata = new CallMetadata(raw([["exclude-patterns", "notes-café.txt"]]));
    expect(metadata.values("exclude-patterns")).toEqual(["notes-café.txt"]);
  });

  it.each(["1", "t", "T", "true", "TRUE", "True"])(
    "decodes newer BuildKit's percent-encoding when <key>-encoded is %s",
    (flag) => {
      const patterns = ["notes-café.txt", "a b+c", "100%", "*.pem", "ünïcode/**"];
      const metadata = new CallMetadata([
        ...raw(patterns.map((pattern) => ["exclude-patterns", queryEscape(pattern)])),
        "exclude-patterns-encoded",
        flag,
      ]);
      expect(metadata.values("exclude-patterns")).toEqual(patterns);
    },
  );

  it("takes values as they are when <key>-encoded is false", () => {
    const metadata = new CallMetadata([
      ...raw([["exclude-patterns", "a+b%41"]]),
      "exclude-patterns-encoded",
      "0",
    ]);
    expect(metadata.values("exclude-patterns")).toEqual(["a+b%41"]);
  });

  it.each([
    ["a bad escape", [...raw([["exclude-patterns", "caf%C"]]), "exclude-patterns-encoded", "1"]],
    ["a non-hex escape", [...raw([["exclude-patterns", "%zz"]]), "exclude-patterns-encoded", "1"]],
    [
      "an escape that is not UTF-8",
      [...raw([["exclude-patterns", "%FF"]]), "exclude-patterns-encoded", "1"],
    ],
    ["raw bytes that are not UTF-8", ["exclude-patterns", "\xff\xfe.txt"]],
    [
      "an unreadable flag",
      [...raw([["exclude-patterns", "x"]]), "exclude-patterns-encoded", "yes"],
    ],
  ])("refuses %s rather than guess", (_what, headers) => {
    const metadata = new CallMetadata(headers);
    expect(() => metadata.values("exclude-patterns")).toThrow(BuildContextError);
    expect(() => metadata.values("exclude-patterns")).toThrow(
      /exclude-patterns metadata cannot be read/,
    );
    // Other keys of the same call stay readable.
    expect(metadata.values("dir-name")).toEqual([]);
  });
});
