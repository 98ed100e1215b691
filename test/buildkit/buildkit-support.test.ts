// Which engines a BuildKit build is refused on, decided from their real /_ping answers.
import { describe, expect, it } from "vitest";
import { assertBuildKitSupport } from "../../src/buildkit/buildkit-support.js";
import { enginePingOf } from "../../src/engine/engine-connection.js";
import { BuildError } from "../../src/errors.js";

/** The headers of `GET /_ping` from Debian's Podman 4.3 (`podman system service`), recorded. */
const PODMAN_PING = {
  "api-version": "1.41",
  "builder-version": "",
  "buildkit-version": "",
  "cache-control": "no-cache",
  "docker-experimental": "true",
  "libpod-api-version": "4.3.1",
  "libpod-buildah-version": "1.28.2",
  pragma: "no-cache",
  server: "Libpod/4.3.1 (linux)",
};

/** The same from Debian's docker.io 20.10: no Builder-Version at all. */
const DOCKER_PING = {
  "api-version": "1.41",
  "docker-experimental": "false",
  ostype: "linux",
  server: "Docker/20.10.24+dfsg1 (linux)",
};

describe("enginePingOf", () => {
  it("tells Podman from Docker by its Libpod headers", () => {
    expect(enginePingOf(PODMAN_PING)).toEqual({
      apiVersion: "1.41",
      builderVersion: "",
      osType: undefined,
      podman: true,
    });
    expect(enginePingOf(DOCKER_PING)).toEqual({
      apiVersion: "1.41",
      builderVersion: undefined,
      osType: "linux",
      podman: false,
    });
    expect(enginePingOf({ server: "Libpod/5.2.0 (linux)" }).podman).toBe(true);
    expect(enginePingOf({ server: "NotLibpod/1" }).podman).toBe(false);
  });
});

describe("assertBuildKitSupport", () => {
  it("refuses Podman at once, saying it has no BuildKit session and to use the classic builder", () => {
    const refusal = () => assertBuildKitSupport(enginePingOf(PODMAN_PING), "unix:///p.sock");
    expect(refusal).toThrow(BuildError);
    expect(refusal).toThrow(
      'The engine at unix:///p.sock is Podman, whose Docker-compatible API has no BuildKit session (its /_ping announces no builder version): build with builder: "classic", which it runs with its own builder',
    );
  });

  it("refuses any engine whose Builder-Version is present but empty", () => {
    const ping = { ...enginePingOf(PODMAN_PING), podman: false };
    expect(() => assertBuildKitSupport(ping, "tcp://127.0.0.1:1")).toThrow(
      expect.objectContaining({
        code: "ERR_DOCKER_BUILD",
        message: expect.stringMatching(
          /^The engine at tcp:\/\/127\.0\.0\.1:1 is one whose .* no BuildKit session/,
        ),
      }),
    );
  });

  it("lets Docker 20.10 build with BuildKit although it announces no builder version", () => {
    expect(() => assertBuildKitSupport(enginePingOf(DOCKER_PING), "unix:///d.sock")).not.toThrow();
  });
});
