// The options of buildImage and ImageBuilder.build, checked in one pass before any I/O.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRIES,
  DEFAULT_RETRY_DELAY_MS,
  MAX_RETRIES,
  MAX_RETRY_DELAY_MS,
  MAX_TIMEOUT_MS,
} from "../../src/defaults.js";
import {
  type BuildImageOptions,
  buildImage,
  ImageBuilder,
  InvalidArgumentError,
} from "../../src/index.js";
import {
  MAX_SECRET_BYTES,
  normalizeBuildImageOptions,
} from "../../src/operation/build-image-options.js";

// No engine there: an option checked after the first request would fail with EngineUnreachableError.
const env = { DOCKER_HOST: "unix:///nonexistent/docker.sock" };
const missingContext = "/nonexistent/context";

/** What buildImage rejects with, for a context and an engine that do not exist. */
async function rejection(options: Record<string, unknown>): Promise<unknown> {
  return buildImage(missingContext, { env, ...options } as BuildImageOptions).then(
    () => undefined,
    (error: unknown) => error,
  );
}

const integerOptions: [string, number, number][] = [
  ["retries", 0, MAX_RETRIES],
  ["retryDelayMs", 0, MAX_RETRY_DELAY_MS],
  ["inactivityTimeoutMs", 0, MAX_TIMEOUT_MS],
  ["shmSize", 0, Number.MAX_SAFE_INTEGER],
];

describe("buildImage options", () => {
  it.each([
    ["retries", Number.NaN, "retries must be a whole number from 0 to 10, got NaN"],
    ["retries", "3", 'retries must be a whole number from 0 to 10, got "3"'],
    ["retries", -1, "retries must be from 0 to 10, got -1"],
    ["retries", 1.5, "retries must be a whole number from 0 to 10, got 1.5"],
    ["retryDelayMs", Number.POSITIVE_INFINITY, "retryDelayMs must be a whole number"],
    ["retryJitter", -0.5, "retryJitter must be from 0 to 1, got -0.5"],
    [
      "inactivityTimeoutMs",
      "1000",
      'inactivityTimeoutMs must be a whole number from 0 to 2147483647, got "1000"',
    ],
    ["shmSize", -1, "shmSize must be from 0 to"],
    ["memory", 1024, "memory must be 0 (no limit) or at least 6291456 bytes"],
    ["memory", "1g", 'memory must be a whole number from 0 to 9007199254740991, got "1g"'],
    ["pull", "yes", 'pull must be true or false, got "yes"'],
    ["builder", "kaniko", 'builder must be one of "classic", "buildkit", got "kaniko"'],
    ["tag", "Upper:1", 'tag must be an image reference such as "my-app:latest"'],
    ["tag", "app:bad tag", "tag must be an image reference"],
    ["tag", `app@sha256:${"0".repeat(64)}`, "not a digest reference"],
    ["tag", "", 'tag must be a non-empty string, got ""'],
    ["dockerfile", 3, "dockerfile must be a non-empty string, got 3"],
    ["buildArgs", { A: 1 }, 'buildArgs["A"] must be a string, got a number'],
    ["extraHosts", { "db,evil": "127.0.0.1" }, "extraHosts entries must map a host name"],
    ["cacheFrom", "busybox", 'cacheFrom must be an array of strings such as ["my-app:latest"]'],
    ["streamProgressTo", "stdout", "streamProgressTo must be a writable stream"],
    ["onProgress", {}, "onProgress must be a function"],
    ["signal", 100, "signal must be an AbortSignal"],
    [
      "secrets",
      { npmrc: { value: "x", file: "/x" } },
      'secrets["npmrc"] must have exactly one of value, file or env, got value and file',
    ],
    [
      "secrets",
      { npmrc: {} },
      'secrets["npmrc"] must have exactly one of value, file or env, got none',
    ],
    ["ssh", { default: false }, 'ssh["default"] must be a socket path or true'],
  ])("rejects %s = %s before any I/O", async (option, value, message) => {
    const error = await rejection({ [option]: value });
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(message);
  });

  it("rejects a non-object options argument", async () => {
    await expect(buildImage(missingContext, "v1" as never)).rejects.toThrow(
      'options must be an options object such as { tag: "v1" }, got "v1"',
    );
  });

  it("says secrets and ssh need BuildKit with the classic builder", async () => {
    const secrets = await rejection({ builder: "classic", secrets: { npmrc: { env: "NPMRC" } } });
    expect((secrets as Error).message).toBe(
      'secrets ("npmrc") needs builder: "buildkit"; the classic builder cannot mount them',
    );
    const ssh = await rejection({ builder: "classic", ssh: { default: true } });
    expect((ssh as Error).message).toMatch(/^ssh \("default"\) needs builder: "buildkit"/);
  });

  it("takes the builder from DOCKER_BUILDKIT as the docker CLI does, the option winning", () => {
    const builder = (options: Record<string, unknown>) =>
      normalizeBuildImageOptions({ env, ...options }).builder;
    expect(builder({})).toBe("classic");
    expect(builder({ env: { ...env, DOCKER_BUILDKIT: "1" } })).toBe("buildkit");
    expect(builder({ env: { ...env, DOCKER_BUILDKIT: "true" } })).toBe("buildkit");
    expect(builder({ env: { ...env, DOCKER_BUILDKIT: "0" } })).toBe("classic");
    expect(builder({ builder: "classic", env: { ...env, DOCKER_BUILDKIT: "1" } })).toBe("classic");
    expect(builder({ builder: "buildkit" })).toBe("buildkit");
  });

  it("checks options before the context and the engine", async () => {
    // Valid options get as far as the context check.
    await expect(buildImage(missingContext, { env, retries: 0 })).rejects.toThrow(
      `Context path ${missingContext} does not exist`,
    );
  });

  it.each(integerOptions)(
    "accepts exactly the whole numbers of %s from %d to %d (property)",
    async (option, min, max) => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.anything(),
            fc.double(),
            fc.integer({ min: min - 5, max: Math.min(max + 5, Number.MAX_SAFE_INTEGER) }),
            fc.constantFrom(min, max, max + 1, Number.NaN, -0, "3", null),
          ),
          async (value) => {
            const valid =
              value === undefined ||
              (typeof value === "number" &&
                Number.isInteger(value) &&
                value >= min &&
                value <= max);
            const error = await rejection({ [option]: value });
            if (valid) {
              expect((error as Error).message).toContain("Context path");
            } else {
              expect(error).toBeInstanceOf(InvalidArgumentError);
              expect((error as Error).message).toMatch(new RegExp(`^${option} must be`));
            }
          },
        ),
        { numRuns: 200 },
      );
    },
  );
});

describe("normalizeBuildImageOptions", () => {
  it("fills in the defaults from defaults.ts", () => {
    const options = normalizeBuildImageOptions(undefined);
    expect(options).toMatchObject({
      builder: "classic",
      dockerfile: "Dockerfile",
      pull: false,
      rm: true,
      forceRm: true,
      noCache: false,
      squash: false,
      retries: DEFAULT_RETRIES,
      retryDelayMs: DEFAULT_RETRY_DELAY_MS,
      retryJitter: 0,
      inactivityTimeoutMs: 0,
      secrets: {},
      ssh: {},
    });
    expect(options.memory).toBeUndefined();
    expect(options.shmSize).toBeUndefined();
  });

  it.each([
    [undefined, "classic"],
    ["0", "classic"],
    ["false", "classic"],
    ["1", "buildkit"],
    ["true", "buildkit"],
    ["TRUE", "buildkit"],
  ])("takes DOCKER_BUILDKIT=%j as builder %j", (value, builder) => {
    const env = value === undefined ? {} : { DOCKER_BUILDKIT: value };
    expect(normalizeBuildImageOptions({ env }).builder).toBe(builder);
    expect(normalizeBuildImageOptions({ env, builder: "classic" }).builder).toBe("classic");
  });

  it("accepts well-formed secrets and ssh sockets with BuildKit", () => {
    const options = normalizeBuildImageOptions({
      builder: "buildkit",
      secrets: {
        a: { value: "x" },
        b: { value: new Uint8Array(1) },
        c: { file: "/f" },
        d: { env: "E" },
      },
      ssh: { default: true, github: "/run/agent.sock" },
    });
    expect(Object.keys(options.secrets)).toEqual(["a", "b", "c", "d"]);
    expect(options.ssh).toEqual({ default: true, github: "/run/agent.sock" });
  });

  it.each([
    ["a string of two-byte characters", "é".repeat(256 * 1024), 524288],
    ["a Uint8Array", new Uint8Array(MAX_SECRET_BYTES + 1), 512001],
  ])(
    "measures a secret value given as %s in bytes against BuildKit's limit",
    (_kind, value, size) => {
      expect(() =>
        normalizeBuildImageOptions({ builder: "buildkit", secrets: { big: { value } } }),
      ).toThrow(
        `secrets["big"].value is ${size} bytes; BuildKit takes secrets of at most 512000 bytes`,
      );
    },
  );

  it("accepts valid tags as the engine does", () => {
    for (const tag of [
      "app",
      "app:1",
      "localhost/pdu-test:abc",
      "127.0.0.1:5555/team/app:v1.2_3",
    ]) {
      expect(normalizeBuildImageOptions({ tag }).tag).toBe(tag);
    }
  });

  it("throws only InvalidArgumentError, naming the option, for arbitrary option values (property)", () => {
    const names = [
      "builder",
      "secrets",
      "ssh",
      "dockerfile",
      "tag",
      "pull",
      "platform",
      "streamProgressTo",
      "onProgress",
      "signal",
      "inactivityTimeoutMs",
      "buildArgs",
      "target",
      "noCache",
      "rm",
      "forceRm",
      "extraHosts",
      "networkMode",
      "cacheFrom",
      "shmSize",
      "memory",
      "squash",
      "auth",
      "env",
      "docker",
      "retries",
      "retryDelayMs",
      "retryJitter",
    ];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.anything(), (name, value) => {
        try {
          normalizeBuildImageOptions({ [name]: value });
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
          expect((error as Error).message).toContain(name);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("ImageBuilder.build options", () => {
  it("are checked by the same normaliser before the build starts", async () => {
    await using image = await new ImageBuilder("busybox").open();
    await expect(image.build({ env, retries: "3" } as never)).rejects.toThrow(
      'retries must be a whole number from 0 to 10, got "3"',
    );
    // A BuildKit build gets past the options to the engine, which is not there.
    await expect(image.build({ env, builder: "buildkit" })).rejects.toThrow(
      /Cannot reach the Docker engine/,
    );
  });
});
