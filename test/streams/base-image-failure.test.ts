import { describe, expect, it } from "vitest";
import { baseImageOfStep, withBaseImage } from "../../src/streams/base-image-failure.js";

describe("baseImageOfStep", () => {
  it.each([
    // The classic builder's instruction, as `Step N/M : <instruction>` carries it.
    ["FROM busyboxx", "busyboxx:latest"],
    ["from busyboxx", "busyboxx:latest"],
    ["FROM busybox:1.36", "busybox:1.36"],
    ["FROM localhost:5000/team/app", "localhost:5000/team/app:latest"],
    ["FROM localhost:5000/team/app:v1 AS build", "localhost:5000/team/app:v1"],
    ["FROM --platform=linux/amd64 busyboxx AS build", "busyboxx:latest"],
    [`FROM busybox@sha256:${"a".repeat(64)}`, `busybox@sha256:${"a".repeat(64)}`],
    // An ARG the classic builder prints unexpanded: shown as written.
    ["FROM $BASE", "$BASE"],
    // BuildKit's step names.
    ["[internal] load metadata for docker.io/library/busyboxx:latest", "busyboxx:latest"],
    ["[internal] load metadata for docker.io/team/app:v1", "team/app:v1"],
    ["[internal] load metadata for 127.0.0.1:5555/x:nope", "127.0.0.1:5555/x:nope"],
    ["[1/2] FROM docker.io/library/busybox:latest", "busybox:latest"],
    ["[build 1/3] FROM ghcr.io/team/app:v1@sha256:abc", "ghcr.io/team/app:v1@sha256:abc"],
  ])("finds the image of %j", (step, image) => {
    expect(baseImageOfStep(step)).toBe(image);
  });

  it.each([
    [undefined],
    ["RUN false"],
    ["FROM scratch"],
    ["FROM"],
    ["[2/2] RUN echo hi"],
    ["[internal] load build definition from Dockerfile"],
  ])("finds none in %j", (step) => {
    expect(baseImageOfStep(step)).toBeUndefined();
  });
});

describe("withBaseImage", () => {
  it("puts the image before the engine's text, and leaves other failures alone", () => {
    expect(withBaseImage("FROM busyboxx", "dial tcp: no such host")).toBe(
      "cannot pull the base image busyboxx:latest: dial tcp: no such host",
    );
    expect(withBaseImage("RUN false", "returned a non-zero code: 1")).toBe(
      "returned a non-zero code: 1",
    );
  });
});
