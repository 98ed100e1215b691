import { randomUUID } from "node:crypto";
import { appendFile, cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { afterAll, inject, onTestFinished } from "vitest";
import { deleteTags, runNamespace, testRegistries } from "./registries.js";
import { PODMAN_SOCKET, testEngineSocket } from "./test-engine.js";

/** The fixtures folder, mirroring Prefect's tests/docker/contexts. */
export const contexts = path.resolve(import.meta.dirname, "../fixtures/contexts");

/** Prefect's IMAGE_ID_PATTERN. */
export const IMAGE_ID_PATTERN = /^sha256:[a-fA-F0-9]{64}$/;

/** The open test registry, as a URL. */
export const REGISTRY_URL = "http://127.0.0.1:5555";

/** The socket of the engine under test (the podman project's DOCKER_HOST, else Docker's). */
export const ENGINE_SOCKET = testEngineSocket(process.env);

/** Whether the engine under test is Podman's API service (the podman project). */
export const ON_PODMAN = ENGINE_SOCKET === PODMAN_SOCKET;

/**
 * The first step line of a classic build's output: Docker's `Step 1/N : FROM ...`, Podman's
 * (Buildah's) `STEP 1/N: FROM ...`.
 */
export const FIRST_STEP = ON_PODMAN ? /^STEP 1\/\d+: FROM /m : /^Step 1\/\d+ : FROM /m;

/** The engine's text for a RUN step that exited with `code` (any code when not given). */
export function runFailed(code?: number): RegExp {
  const status = code === undefined ? "\\d+" : String(code);
  return ON_PODMAN
    ? new RegExp(`while running runtime: exit status ${status}$`)
    : new RegExp(`returned a non-zero code: ${status}`);
}

/** A plain client for assertions, independent of the library under test. */
export const docker = new Docker({ socketPath: ENGINE_SOCKET });

/**
 * Runs an image (its own command, or `command`) without network, removes the container, and
 * resolves to its stdout.
 */
export async function runImage(image: string, command?: string[]): Promise<string> {
  const container = await docker.createContainer({
    // Podman's API reads "sha256:<id>" as a name on Docker Hub; the bare ID works on both.
    Image: ON_PODMAN ? image.replace(/^sha256:/, "") : image,
    ...(command ? { Cmd: command } : {}),
    Labels: { "io.prefect-dockerutils.test-run": inject("testRun") },
    HostConfig: { NetworkMode: "none" },
  });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    docker.modem.demuxStream(stream, stdout, new PassThrough().resume());
    const ended = new Promise((resolve) => stream.on("end", resolve));
    await container.start();
    await container.wait();
    await ended;
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    await container.remove({ force: true });
  }
}

/** This run's id: the value of the run label every image and container carries. */
export const TEST_RUN = inject("testRun");

/**
 * A repository of the calling test alone, in this run's namespace of the registries
 * (`pdu-<run>/<name>-<random>`): another test, or another test run on the same registries, never
 * pushes to it, so what a test reads there is what it pushed. Every tag in it, in both test
 * registries, is deleted when the test finishes (or, with `scope: "file"`, after the file or
 * describe block: call it then while the file is collected, for a repository a `beforeAll` pushes
 * to).
 */
export function testRepository(name: string, scope: "test" | "file" = "test"): string {
  const repository = `${runNamespace(TEST_RUN)}/${name}-${randomUUID().slice(0, 8)}`;
  const forget = async () => {
    for (const registry of await testRegistries()) await deleteTags(registry, repository);
  };
  if (scope === "test") onTestFinished(forget);
  else afterAll(forget);
  return repository;
}

/**
 * Removes an image reference of the test's own: a unique tag, or the ID of an image only the test
 * built. Never forced and never pruning: an image someone else still tags or uses stays, and the
 * parent layers stay too (a build running beside this test may be using them as its cache). Once
 * the last tag is gone the engine removes the image itself: it is noted as removed on purpose,
 * and its parent for the global teardown, which removes it then if the run made it and nothing
 * else uses it. (A run image deleted any other way fails the run: its parents would dangle.)
 */
export async function removeOwnImage(reference: string): Promise<void> {
  const image = await docker
    .getImage(reference)
    .inspect()
    .catch(() => undefined);
  if (image === undefined) return;
  await docker
    .getImage(reference)
    .remove({ noprune: true })
    .catch(() => undefined);
  const gone = await docker
    .getImage(image.Id)
    .inspect()
    .then(
      () => false,
      () => true,
    );
  if (gone) await appendFile(inject("testRemoved"), `${image.Id}\n`);
  if (image.Parent) await appendFile(inject("testParents"), `${image.Parent}\n`);
}

/** A unique tag, removed from the engine when the test finishes. */
export function uniqueTag(repository = "localhost/pdu-test"): string {
  const tag = `${repository}:${randomUUID()}`;
  onTestFinished(() => removeOwnImage(tag));
  return tag;
}

/** A copy of a fixture context in a temporary folder, removed when the test finishes. */
export async function copyOfContext(name: string): Promise<string> {
  const parent = await mkdtemp(path.join(tmpdir(), "pdu-test-"));
  onTestFinished(() => rm(parent, { recursive: true, force: true }));
  const target = path.join(parent, name);
  await cp(path.join(contexts, name), target, { recursive: true });
  return target;
}

/** Everything written to process.stdout and process.stderr while `fn` runs. */
export async function captureOutput<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; out: string; err: string }> {
  const original = { out: process.stdout.write, err: process.stderr.write };
  let out = "";
  let err = "";
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    const result = await fn();
    return { result, out, err };
  } finally {
    process.stdout.write = original.out;
    process.stderr.write = original.err;
  }
}

export { StringStream } from "../support/string-stream.js";
