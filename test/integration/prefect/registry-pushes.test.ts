// Port of Prefect's tests/docker/test_registry_pushes.py, against the real engine and registry.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageBuilder, PushError, pushImage, pushImageDetailed } from "../../../src/index.js";
import { timestampTag } from "../../../src/python/slugify.js";
import {
  captureOutput,
  docker,
  REGISTRY_URL,
  removeOwnImage,
  runImage,
  StringStream,
  testRepository,
} from "../support.js";

const REGISTRY_HOST = "127.0.0.1:5555";
// Prefect's frozen_now fixture: one instant for every default tag in this file.
const frozenNow = 1_795_000_000_123_456n;
const now = () => frozenNow;
const tagPrefix = timestampTag(frozenNow).slice(0, 20);

let howdy: string;
let message: string;
const keepTag = randomUUID();

beforeAll(async () => {
  // Something unique, so every run makes a new image.
  message = `hello from the registry, ${randomUUID()}!`;
  {
    await using image = await new ImageBuilder("busybox").open();
    image.addLine(`LABEL io.prefect.test-worker ${process.pid}`);
    image.addLine(`ENTRYPOINT [ "echo", "${message}" ]`);
    howdy = await image.build();
  }
  expect((await runImage(howdy)).trim()).toBe(message);
  // A tag of the test's own, to prove that pushing untags the registry tag but keeps the image.
  await docker.getImage(howdy).tag({ repo: "localhost/pdu-howdy", tag: keepTag });
});
afterAll(() => removeOwnImage(`localhost/pdu-howdy:${keepTag}`));

/** Removes a pushed reference from the engine after the test pulled/ran it. */
async function forget(reference: string) {
  await removeOwnImage(reference);
}

// Prefect pushes to "howdy" and "prefecthq/howdy"; here each test has a repository of its own
// (testRepository), since other test runs push to the same registry: with the frozen clock, every
// run's tag would be the same, and a pull could bring another run's image.
describe("pushImage", () => {
  it("pushes to the registry under a tag made from the current time", async () => {
    const howdyRepository = testRepository("howdy");
    const reference = await pushImage(howdy, REGISTRY_URL, howdyRepository, { now });
    expect(reference.startsWith(`${REGISTRY_HOST}/${howdyRepository}:${tagPrefix}`)).toBe(true);
    try {
      expect((await runImageFromRegistry(reference)).trim()).toBe(message);
    } finally {
      await forget(reference);
    }
  });

  it("pushes with the given tag", async () => {
    const howdyRepository = testRepository("howdy");
    const reference = await pushImage(howdy, REGISTRY_URL, howdyRepository, { tag: "my-tag" });
    expect(reference).toBe(`${REGISTRY_HOST}/${howdyRepository}:my-tag`);
    try {
      expect((await runImageFromRegistry(reference)).trim()).toBe(message);
    } finally {
      await forget(reference);
    }
  });

  it("pushes with an owner", async () => {
    const owned = testRepository("prefecthq/howdy");
    expect(owned.split("/")).toHaveLength(3);
    const reference = await pushImage(howdy, REGISTRY_URL, owned, { now });
    expect(reference.startsWith(`${REGISTRY_HOST}/${owned}:${tagPrefix}`)).toBe(true);
    try {
      expect((await runImageFromRegistry(reference)).trim()).toBe(message);
    } finally {
      await forget(reference);
    }
  });

  it("does not leave the registry tag locally, and keeps the image", async () => {
    const howdyRepository = testRepository("howdy");
    const reference = await pushImage(howdy, REGISTRY_URL, howdyRepository, { now });
    expect(reference.startsWith(`${REGISTRY_HOST}/${howdyRepository}:${tagPrefix}`)).toBe(true);
    await expect(docker.getImage(reference).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await docker.getImage(howdy).inspect()).Id).toBe(howdy);
  });

  it("resolves to the digest the registry confirmed with pushImageDetailed", async () => {
    const howdyRepository = testRepository("howdy");
    const result = await pushImageDetailed(howdy, REGISTRY_URL, howdyRepository, {
      tag: "detailed",
    });
    expect(result.reference).toBe(`${REGISTRY_HOST}/${howdyRepository}:detailed`);
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const manifest = await fetch(`${REGISTRY_URL}/v2/${howdyRepository}/manifests/detailed`, {
      method: "HEAD",
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(manifest.headers.get("docker-content-digest")).toBe(result.digest);
  });

  it("rejects with PushError when the registry cannot be reached, and removes its tag", async () => {
    // Port 1 on loopback: nothing listens there, and no name is looked up.
    // Named per test: another run's tag of the same name would be there for a moment.
    const howdyRepository = testRepository("howdy");
    const error = await pushImage(howdy, "http://127.0.0.1:1", howdyRepository, {
      tag: "unreachable",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).message).toMatch(/127\.0\.0\.1:1.*connection refused/);
    await expect(
      docker.getImage(`127.0.0.1:1/${howdyRepository}:unreachable`).inspect(),
    ).rejects.toMatchObject({ statusCode: 404 });
  });

  it("rejects with PushError for an image that does not exist", async () => {
    await expect(
      pushImage(`sha256:${"0".repeat(64)}`, REGISTRY_URL, testRepository("howdy")),
    ).rejects.toThrow(PushError);
  });

  it("rejects a registry URL without a scheme before doing anything, showing the fix", async () => {
    await expect(pushImage(howdy, "127.0.0.1:5555", "howdy")).rejects.toThrow(
      /has no scheme.*write "http:\/\/127\.0\.0\.1:5555"/,
    );
  });

  it("streams nowhere by default", async () => {
    const howdyRepository = testRepository("howdy");
    const { out, err } = await captureOutput(() => pushImage(howdy, REGISTRY_URL, howdyRepository));
    expect(out).toBe("");
    expect(err).toBe("");
  });

  it("streams progress to stdout", async () => {
    const howdyRepository = testRepository("howdy");
    const { out, err } = await captureOutput(() =>
      pushImage(howdy, REGISTRY_URL, howdyRepository, { streamProgressTo: process.stdout }),
    );
    expect(err).toBe("");
    expectPushOutput(out);
  });

  it("streams progress to a given stream", async () => {
    const stream = new StringStream();
    await pushImage(howdy, REGISTRY_URL, testRepository("howdy"), { streamProgressTo: stream });
    expectPushOutput(stream.getValue());
  });
});

function expectPushOutput(output: string) {
  expect(output).toContain("push refers to repository");
  expect(output.includes("\nPreparing") || output.includes("\nLayer already exists")).toBe(true);
  // Each test pushes to a repository of its own: layers an earlier test pushed are mounted from
  // its repository instead of sent again.
  expect(output).toMatch(/\n(Pushing \[|Layer already exists|Mounted from )/);
}

/** Pulls the reference from the registry (it was untagged locally) and runs it. */
async function runImageFromRegistry(reference: string): Promise<string> {
  const stream = await docker.pull(reference);
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())),
  );
  return runImage(reference);
}
