import { randomUUID } from "node:crypto";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { inject, onTestFinished } from "vitest";

/** The fixtures folder, mirroring Prefect's tests/docker/contexts. */
export const contexts = path.resolve(import.meta.dirname, "../fixtures/contexts");

/** Prefect's IMAGE_ID_PATTERN. */
export const IMAGE_ID_PATTERN = /^sha256:[a-fA-F0-9]{64}$/;

/** The open test registry, as a URL. */
export const REGISTRY_URL = "http://127.0.0.1:5555";

/** A plain client for assertions, independent of the library under test. */
export const docker = new Docker({ socketPath: "/var/run/docker.sock" });

/** Runs an image without network, removes the container, and resolves to its stdout. */
export async function runImage(image: string): Promise<string> {
  const container = await docker.createContainer({
    Image: image,
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

/** A unique tag, removed from the engine when the test finishes. */
export function uniqueTag(repository = "localhost/pdu-test"): string {
  const tag = `${repository}:${randomUUID()}`;
  onTestFinished(async () => {
    await docker
      .getImage(tag)
      .remove({ noprune: true })
      .catch(() => undefined);
  });
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
