// The push stream reader on what Podman's Docker-compatible API sends: no `aux` at all, the
// digest only in the status line the docker CLI prints.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { PushError } from "../../src/errors.js";
import { readJsonLines } from "../../src/streams/json-lines.js";
import type { ProgressEvent } from "../../src/streams/progress.js";
import { PushStream } from "../../src/streams/push-stream.js";
import { StringStream } from "../support/string-stream.js";

/** Streams recorded with curl: `podman-*` from Debian's Podman 4.3, the others from docker.io 20.10. */
const recorded = (name: string) =>
  readFileSync(path.resolve(import.meta.dirname, "../fixtures/engine-streams", `${name}.jsonl`));

async function replay(name: string, reader: PushStream): Promise<void> {
  await readJsonLines(Readable.from([recorded(name)]), (line) => reader.handle(line));
}

describe("PushStream", () => {
  it("keeps the digest of Podman's status line, which comes without aux", async () => {
    const text = new StringStream();
    const events: ProgressEvent[] = [];
    const reader = new PushStream({
      tag: "tiny",
      streamProgressTo: text,
      onProgress: (e) => events.push(e),
    });
    await replay("podman-push-succeeds", reader);
    const digest = "sha256:08bf6d2ecf65bffd315779ecf0d691510bc96051f8d2dce5242f2d8b232399a2";
    expect(reader.pushed).toEqual({ digest, size: 579 });
    expect(events.filter((e) => e.type === "digest")).toEqual([
      { type: "digest", tag: "tiny", digest, size: 579 },
    ]);
    expect(text.getValue()).toBe(
      `The push refers to repository [127.0.0.1:5555/pdu-record:tiny]\ntiny: digest: ${digest} size: 579\n`,
    );
  });

  it("announces Docker's digest once although the status line and aux both carry it", async () => {
    const events: ProgressEvent[] = [];
    const reader = new PushStream({ tag: "tiny", onProgress: (e) => events.push(e) });
    await replay("push-succeeds", reader);
    const digest = "sha256:c9c7c219578338b17dcec047808eb78b48b343d7d9bd4beedd9ad7a131da9e1b";
    expect(reader.pushed).toEqual({ digest, size: 941 });
    expect(events.filter((e) => e.type === "digest")).toEqual([
      { type: "digest", tag: "tiny", digest, size: 941 },
    ]);
  });

  it.each([
    ["tiny: digest: sha256:abc size: 579", "a digest that is not 64 hex digits"],
    [`tiny: digest: sha256:${"A".repeat(64)} size: 579`, "upper-case hex"],
    [`tiny: digest: sha256:${"a".repeat(64)} size: -1`, "a negative size"],
    [`tiny: digest: sha256:${"a".repeat(64)} size: 579 and more`, "trailing text"],
    [`a tag: digest: sha256:${"a".repeat(64)} size: 579`, "a tag with a space"],
  ])("takes no digest from %j (%s)", (status) => {
    const reader = new PushStream({ tag: "tiny" });
    reader.handle({ kind: "message", message: { status } });
    expect(reader.pushed).toBeUndefined();
  });

  it("reads a hostile status line in linear time", () => {
    const reader = new PushStream({ tag: "t" });
    const status = `${"x".repeat(100)}: digest: sha256:${"a".repeat(64)} size: ${"9".repeat(200_000)}`;
    const started = performance.now();
    reader.handle({ kind: "message", message: { status } });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(reader.pushed).toBeUndefined();
  });

  it.each([
    ["podman-push-unauthorized", /unauthorized: authentication required$/],
    ["podman-push-https-to-http", /server gave HTTP response to HTTPS client$/],
  ])("rejects Podman's in-stream error of %s", async (name, expected) => {
    const error = await replay(name, new PushStream({ tag: "tiny" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).message).toMatch(expected);
  });
});
