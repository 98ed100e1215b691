import { describe, expect, it } from "vitest";
import { blobStatus } from "../../../src/cli/progress/blob-status.js";
import { PlainRenderer } from "../../../src/cli/progress/plain-renderer.js";
import type { BlobEvent } from "../../../src/index.js";

const digest = `sha256:${"ab".repeat(32)}`;
const blob = (state: BlobEvent["state"], extra: Partial<BlobEvent> = {}): BlobEvent => ({
  type: "blob",
  platform: "linux/arm64",
  kind: "layer",
  digest,
  state,
  current: 0,
  total: 4096,
  from: undefined,
  ...extra,
});

describe("blobStatus", () => {
  it.each([
    [blob("exists"), "Layer already exists", undefined],
    [blob("mounted", { from: "team/base" }), "Mounted from team/base", undefined],
    [blob("uploading", { current: 1024 }), "Pushing", 1024],
    [blob("uploaded"), "Pushed", undefined],
  ])("reads a blob event as the push status line %#", (event, status, current) => {
    expect(blobStatus(event)).toEqual({
      type: "status",
      operation: "push",
      id: "linux/arm64 abababababab",
      status,
      progress: undefined,
      current,
      total: current === undefined ? undefined : 4096,
    });
  });
});

describe("the plain display of a multi-platform push", () => {
  it("prints platform, blob and index events as lines", () => {
    let text = "";
    const renderer = new PlainRenderer({ write: (chunk: string) => (text += chunk) }, () => 0);
    renderer.start("build", "./app for linux/amd64,linux/arm64");
    renderer.onProgress({
      type: "platform",
      platform: "linux/arm64",
      state: "pushed",
      imageId: `sha256:${"1".repeat(64)}`,
      digest,
      size: 401,
    });
    renderer.onProgress(blob("uploaded"));
    renderer.onProgress({
      type: "index",
      reference: "127.0.0.1:5000/team/app:1",
      digest,
      size: 491,
      manifests: [],
    });
    expect(text.split("\n")).toEqual([
      "building ./app for linux/amd64,linux/arm64",
      `linux/arm64: pushed ${digest} size: 401`,
      "linux/arm64 abababababab: Pushed",
      `127.0.0.1:5000/team/app:1: digest: ${digest} size: 491`,
      "",
    ]);
  });
});
