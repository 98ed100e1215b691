// pushImage's arguments and options are checked once, before any I/O (issues 8 and 12). The
// engine named here is a socket nobody listens on: an argument that got past the checks would
// fail with EngineUnreachableError instead of InvalidArgumentError.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EngineUnreachableError, InvalidArgumentError } from "../../src/errors.js";
import { pushImage } from "../../src/prefect/push-image.js";
import { HOSTILE_IMAGE_IDS } from "../support/hostile-ids.js";

const IMAGE = `sha256:${"a".repeat(64)}`;
const nowhere = { DOCKER_HOST: `unix:///tmp/pdu-nowhere-${randomUUID()}.sock` };

async function pushError(...args: unknown[]): Promise<unknown> {
  const [imageId, registryUrl, name, options] = args;
  return (pushImage as (...a: unknown[]) => Promise<string>)(
    imageId ?? IMAGE,
    registryUrl ?? "http://127.0.0.1:5555",
    name ?? "app",
    options === undefined ? { env: nowhere } : options,
  ).catch((e: unknown) => e);
}

describe("pushImage's arguments", () => {
  it.each(HOSTILE_IMAGE_IDS.map((id) => [id.length > 60 ? `${id.slice(0, 60)}...` : id, id]))(
    "refuses the imageId %j before any request",
    async (_shown, id) => {
      const error = await pushError(id);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/^imageId must be an image ID/);
    },
  );

  it("gets as far as the engine with good arguments (so the refusals above mean something)", async () => {
    expect(await pushError()).toBeInstanceOf(EngineUnreachableError);
  });

  it("never shows the password of a registry URL, in the message or the stack", async () => {
    const error = await pushError(undefined, "http://alice:pa55w0rd-xyz@127.0.0.1:5555");
    expect(error).toBeInstanceOf(InvalidArgumentError);
    const text = `${(error as Error).message}\n${(error as Error).stack}`;
    expect(text).not.toContain("pa55w0rd");
    expect(text).not.toContain("alice");
    expect((error as Error).message).toContain('"http://***@127.0.0.1:5555"');
    expect((error as Error).message).toContain("options.auth");
  });

  it.each([
    ["127.0.0.1:5555", '"http://127.0.0.1:5555"'],
    ["localhost:5000", '"http://localhost:5000"'],
    ["registry.example.com", '"http://registry.example.com"'],
  ])("says that %j has no scheme, and how to write it", async (url, fix) => {
    const error = await pushError(undefined, url);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain("has no scheme");
    expect((error as Error).message).toContain(fix);
    expect((error as Error).message).not.toContain("has no host");
  });

  it.each([
    ["ftp://127.0.0.1:5555", 'the scheme "ftp"'],
    ["http://registry", "Docker Hub account"],
    ["http://bad_host:5000", "not a registry host"],
    // A path component with a dot, not a host: the engine would push "bad_host.example/app" to
    // Docker Hub's account bad_host.example.
    ["http://bad_host.example", "not a registry host"],
    ["http://127.0.0.1:5555 x", "spaces or control characters"],
  ])("refuses the registry URL %j", async (url, reason) => {
    const error = await pushError(undefined, url);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(reason);
  });

  it("says where the tag goes when the name holds one", async () => {
    const error = await pushError(undefined, undefined, "team/app:v1");
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      'name "team/app:v1" holds a tag; pass the repository as name and the tag as options.tag: pushImage(imageId, registryUrl, "team/app", { tag: "v1" })',
    );
  });

  it.each([
    ["Team/App", "must be lower-case"],
    [`app@sha256:${"c".repeat(64)}`, "holds a digest"],
    ["../x", "is not a repository name"],
    ["app/", "is not a repository name"],
    ["app?x=1", "is not a repository name"],
  ])("refuses the name %j", async (name, reason) => {
    const error = await pushError(undefined, undefined, name);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(reason);
  });

  it.each(["v1", 3, null, true, ["v1"], () => undefined])(
    "refuses options that are not an object: %j",
    async (options) => {
      const error = await pushError(undefined, undefined, undefined, options);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain("pushImage's options must be an options object");
    },
  );

  it.each(["v 1", "-v1", ".v1", "a".repeat(129), "v1\n", 1])("refuses the tag %j", async (tag) => {
    const error = await pushError(undefined, undefined, undefined, { env: nowhere, tag });
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/^tag must be a tag/);
  });
});

/** The numeric options, each with its valid range. */
const NUMERIC_PUSH_OPTIONS = [
  ["retries", 0, 10],
  ["retryDelayMs", 0, 600_000],
  ["inactivityTimeoutMs", 0, 2_147_483_647],
  ["credentialHelperTimeoutMs", 1, 2_147_483_647],
] as const;

describe("pushImage's options", () => {
  it.each([
    ["retries", Number.NaN],
    ["retries", "3"],
    ["retries", -1],
    ["retries", 2.5],
    ["retries", 11],
    ["retryDelayMs", Number.POSITIVE_INFINITY],
    ["inactivityTimeoutMs", -5],
    ["retryJitter", 2],
    ["onProgress", "log"],
    ["signal", { aborted: false }],
    ["streamProgressTo", "stdout"],
    ["env", "DOCKER_HOST=x"],
    ["now", 5],
  ])("refuses %s: %j, naming it", async (option, value) => {
    const error = await pushError(undefined, undefined, undefined, {
      env: nowhere,
      [option]: value,
    });
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message.startsWith(`${option} must be`)).toBe(true);
  });

  it("accepts exactly the whole numbers in range of each numeric option, whatever else is given", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...NUMERIC_PUSH_OPTIONS),
        fc.oneof(
          fc.anything(),
          fc.double(),
          fc.integer({ min: -10, max: 2_147_483_650 }),
          fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e300),
        ),
        async ([option, min, max], value) => {
          const error = await pushError(undefined, undefined, undefined, {
            env: nowhere,
            [option]: value,
          });
          const valid =
            value === undefined ||
            (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max);
          if (valid) {
            expect(error).toBeInstanceOf(EngineUnreachableError);
          } else {
            expect(error).toBeInstanceOf(InvalidArgumentError);
            expect((error as Error).message).toContain(option);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
