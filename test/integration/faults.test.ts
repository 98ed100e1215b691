// Issue 5: every operation settles, explains its failure, and leaves nothing behind.
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { CLEANUP_TIMEOUT_MS } from "../../src/defaults.js";
import { dockerClient } from "../../src/dockerode.js";
import {
  buildImage,
  DockerUtilsError,
  EngineUnreachableError,
  ImageBuilder,
  InactivityTimeoutError,
  type ProgressEvent,
  PushError,
  pushImage,
} from "../../src/index.js";
import { FaultProxy, HttpFaultProxy } from "./fault-proxy.js";
import { contexts, docker, REGISTRY_URL, removeOwnImage, testRepository } from "./support.js";

const tiny = path.join(contexts, "tiny");
const fast = { retryDelayMs: 10 };

/** An image with one 32 MiB layer, so that a push takes long enough to interrupt. */
let bigImage: string;
beforeAll(async () => {
  await using image = await new ImageBuilder("busybox").open();
  image.addLine("RUN head -c 33554432 /dev/urandom > /big && echo big");
  bigImage = await image.build();
  // Removing a registry tag that is an image's only tag removes the image (Prefect's behaviour
  // too), so give it a tag of its own, as Prefect's push tests do.
  await docker.getImage(bigImage).tag({ repo: "localhost/pdu-big", tag: String(process.pid) });
});
afterAll(() => removeOwnImage(`localhost/pdu-big:${process.pid}`));

/**
 * The registry tags of `repository` (one of the test's own, from testRepository) left on the
 * engine: the engine is shared with other tests and test runs, whose tags must not count here.
 */
async function registryTags(repository: string): Promise<string[]> {
  const images = await docker.listImages();
  return images
    .flatMap((image) => image.RepoTags ?? [])
    .filter((tag) => /^127\.0\.0\.1:\d+\//.test(tag) && tag.includes(`/${repository}:`));
}

describe("an unreachable engine", () => {
  it.each([
    [
      "a socket that does not exist",
      "unix:///tmp/pdu-no-such-engine.sock",
      "unix:///tmp/pdu-no-such-engine.sock",
    ],
    ["a loopback port where nothing listens", "tcp://127.0.0.1:1", "tcp://127.0.0.1:1"],
  ])("fails a build at once naming %s", async (_, host, endpoint) => {
    const client = dockerClient({ env: { DOCKER_HOST: host } });
    const started = performance.now();
    const error = await buildImage(tiny, { docker: client }).catch((e: unknown) => e);
    // What this test is about: no wait beyond the 2 s ping timeout (a margin for a loaded machine).
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as EngineUnreachableError).message).toContain(endpoint);
    expect((error as EngineUnreachableError).message).toContain("DOCKER_HOST");
    expect((error as EngineUnreachableError).message).toContain("Docker is running");
    expect((error as EngineUnreachableError).cause).toBeInstanceOf(Error);
  });

  it("fails a push at once and says which engine it tried", async () => {
    const client = dockerClient({ env: { DOCKER_HOST: "unix:///tmp/pdu-no-such-engine.sock" } });
    const started = performance.now();
    const error = await pushImage(bigImage, REGISTRY_URL, "nowhere", { docker: client }).catch(
      (e: unknown) => e,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(String((error as Error).message)).toContain("unix:///tmp/pdu-no-such-engine.sock");
  });
});

describe("a connection cut in the middle", () => {
  it("of a build rejects, and leaves no Dockerfile or temporary context", async () => {
    await using proxy = await FaultProxy.start({ socketPath: "/var/run/docker.sock" });
    const client = dockerClient({ env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` } });
    const image = await new ImageBuilder("busybox").open();
    const context = image.context as string;
    image.addLine(`RUN echo ${Date.now()} && sleep 5`);
    const error = await image
      .build({
        docker: client,
        retries: 0,
        onProgress: (event) => {
          if (event.type === "step" && event.instruction.startsWith("RUN")) proxy.cutAll();
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/connection was cut/);
    expect(existsSync(path.join(context, "Dockerfile"))).toBe(false);
    await image.close();
    expect(existsSync(context)).toBe(false);
  });

  it("of a build is retried as a transient failure and then succeeds", async () => {
    await using proxy = await FaultProxy.start({ socketPath: "/var/run/docker.sock" });
    const client = dockerClient({ env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` } });
    const events: ProgressEvent[] = [];
    let cut = false;
    let imageId: string;
    {
      await using image = await new ImageBuilder("busybox").open();
      // A RUN that takes a while, so the cut lands while the response is still streaming.
      image.addLine(`RUN echo ${Date.now()} && sleep 2`);
      imageId = await image.build({
        docker: client,
        ...fast,
        onProgress: (event) => {
          events.push(event);
          if (!cut && event.type === "step" && event.instruction.startsWith("RUN")) {
            cut = true;
            proxy.cutAll();
          }
        },
      });
    }
    expect(imageId).toMatch(/^sha256:/);
    expect(events.filter((e) => e.type === "retry")).toHaveLength(1);
  });

  it("of a push rejects with PushError and removes the registry tag", async () => {
    const repository = testRepository("faults-cut");
    await using proxy = await FaultProxy.start({ socketPath: "/var/run/docker.sock" });
    const client = dockerClient({ env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` } });
    let cut = false;
    const error = await pushImage(bigImage, REGISTRY_URL, repository, {
      docker: client,
      tag: `cut-${Date.now()}`,
      retries: 0,
      onProgress: (event) => {
        if (!cut && event.type === "status" && event.status === "Preparing") {
          cut = true;
          proxy.cutAll();
        }
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as Error).message).toMatch(/connection was cut/);
    expect(await registryTags(repository)).toEqual([]);
  });
});

describe("an engine that goes silent while the push cleans up", () => {
  it("still settles the push, within the cleanup bound, when removing the tag gets no answer", async () => {
    await using proxy = await FaultProxy.start({ socketPath: "/var/run/docker.sock" });
    const client = dockerClient({ env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` } });
    // Only the answer to DELETE /images/<tag> holds "Untagged": the engine removes the tag, but
    // its answer never arrives.
    proxy.stallAt('"Untagged"');
    const repository = testRepository("faults-silent-cleanup");
    const started = performance.now();
    const reference = await pushImage(bigImage, REGISTRY_URL, repository, {
      docker: client,
      tag: "silent",
      retries: 0,
    });
    const elapsedMs = performance.now() - started;
    expect(reference).toBe(`127.0.0.1:5555/${repository}:silent`);
    expect(elapsedMs).toBeGreaterThanOrEqual(CLEANUP_TIMEOUT_MS - 100);
    expect(elapsedMs).toBeLessThan(CLEANUP_TIMEOUT_MS + 15_000);
    expect(await registryTags(repository)).toEqual([]);
  });
});

describe("a registry that fails", () => {
  it("with 503 is retried until it recovers", async () => {
    const repository = testRepository("faults-503");
    await using proxy = await HttpFaultProxy.start(5555);
    // The engine retries layer uploads itself, but not the manifest: that failure reaches us.
    proxy.failNext(2, (method, url) => method === "PUT" && url.includes("/manifests/"));
    const events: ProgressEvent[] = [];
    const reference = await pushImage(bigImage, `http://127.0.0.1:${proxy.port}`, repository, {
      tag: "recovered",
      ...fast,
      onProgress: (event) => events.push(event),
    });
    expect(reference).toBe(`127.0.0.1:${proxy.port}/${repository}:recovered`);
    expect(proxy.failed).toBe(2);
    const retries = events.filter((e) => e.type === "retry");
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(String((retries[0] as { error: Error }).error.message)).toMatch(/503/);
    expect(await registryTags(repository)).toEqual([]);
  });

  it("by refusing authentication is not retried", async () => {
    const repository = testRepository("faults-auth");
    const events: ProgressEvent[] = [];
    const error = await pushImage(bigImage, "http://127.0.0.1:5556", repository, {
      tag: "refused",
      onProgress: (event) => events.push(event),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).message).toMatch(/no basic auth credentials|unauthorized/);
    expect(events.filter((e) => e.type === "retry")).toEqual([]);
    expect(await registryTags(repository)).toEqual([]);
  });
});

describe("a deterministic engine failure", () => {
  it.each([
    ["a Dockerfile path that is a folder", { dockerfile: "folder" }, /is a directory|folder/i],
    // Checked before the build now; the engine's own answer is a 500 (engine-errors.json).
    ["an upper-case tag", { tag: "localhost/PDU-Upper:x" }, /lowercase|tag must be/i],
  ])("(%s) fails at once instead of being retried", async (_, options, message) => {
    const context = await mkdtemp(path.join(tmpdir(), "pdu-deterministic-"));
    onTestFinished(() => rm(context, { recursive: true, force: true }));
    await writeFile(path.join(context, "Dockerfile"), "FROM busybox\n");
    await mkdir(path.join(context, "folder"));
    const events: ProgressEvent[] = [];
    // Prefect's delays: retrying the engine's HTTP 500 took 2 + 4 + 8 s before (issue 12).
    const error = await buildImage(context, {
      ...options,
      onProgress: (event) => events.push(event),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerUtilsError);
    expect((error as Error).message).toMatch(message);
    expect(events.filter((e) => e.type === "retry")).toEqual([]);
  });
});

/** Open file descriptors of this process: sockets and files alike. */
const openFiles = () => readdirSync("/proc/self/fd").length;

/** Waits until no more descriptors are open than `before` (idle keep-alive sockets time out). */
async function expectNoLeakedHandles(before: number) {
  await expect.poll(openFiles, { timeout: 15_000, interval: 250 }).toBeLessThanOrEqual(before);
}

describe("cancellation", () => {
  let bigContext: string;
  beforeAll(async () => {
    bigContext = await mkdtemp(path.join(tmpdir(), "pdu-big-context-"));
    await writeFile(path.join(bigContext, "Dockerfile"), "FROM busybox\nCOPY big /big\n");
    // 2 GiB of zeros, sparse on disk: uploading it takes seconds, making it takes none.
    const { open } = await import("node:fs/promises");
    const handle = await open(path.join(bigContext, "big"), "w");
    await handle.truncate(2 * 1024 ** 3);
    await handle.close();
  });
  afterAll(() => rm(bigContext, { recursive: true, force: true }));

  it("during the context upload rejects within 1 s with the signal's reason", async () => {
    const handles = openFiles();
    const controller = new AbortController();
    const events: ProgressEvent[] = [];
    const pending = buildImage(bigContext, {
      signal: controller.signal,
      onProgress: (e) => events.push(e),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reason = new Error("cancelled by the test");
    const started = performance.now();
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(events.filter((e) => e.type === "step")).toEqual([]);
    await expectNoLeakedHandles(handles);
  });

  it("during a long RUN rejects within 1 s and leaves no Dockerfile or context", async () => {
    const handles = openFiles();
    const controller = new AbortController();
    const image = await new ImageBuilder("busybox").open();
    onTestFinished(() => image.close());
    const context = image.context as string;
    const marker = `pdu-cancel-${Date.now()}`;
    image.addLine(`RUN echo ${marker} && sleep 30`);
    let abortedAt = 0;
    const pending = image.build({
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === "output" && event.text.includes("Running in")) {
          abortedAt = performance.now();
          controller.abort(new Error("stop the RUN"));
        }
      },
    });
    await expect(pending).rejects.toThrow("stop the RUN");
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    // The engine notices the closed connection, stops the RUN and removes its container.
    await expect
      .poll(
        async () =>
          (await docker.listContainers({ all: true })).filter((c) => c.Command.includes(marker)),
        { timeout: 15_000, interval: 250 },
      )
      .toEqual([]);
    expect(existsSync(path.join(context, "Dockerfile"))).toBe(false);
    await image.close();
    expect(existsSync(context)).toBe(false);
    await expectNoLeakedHandles(handles);
  });

  it("during a push rejects within 1 s and removes the registry tag", async () => {
    const repository = testRepository("faults-cancel");
    const handles = openFiles();
    const controller = new AbortController();
    let abortedAt = 0;
    const pending = pushImage(bigImage, REGISTRY_URL, repository, {
      tag: `cancel-${Date.now()}`,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === "status" && event.status === "Preparing" && !abortedAt) {
          abortedAt = performance.now();
          controller.abort(new Error("stop the push"));
        }
      },
    });
    await expect(pending).rejects.toThrow("stop the push");
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(await registryTags(repository)).toEqual([]);
    await expectNoLeakedHandles(handles);
  });

  it("before anything starts rejects at once without touching the engine", async () => {
    const reason = new Error("never mind");
    await expect(buildImage(tiny, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(
      pushImage(bigImage, REGISTRY_URL, "x", { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });
});

describe("an engine that goes silent", () => {
  it("fails the build with an inactivity timeout instead of hanging", async () => {
    // The real engine answers through a proxy that stops passing its answer on mid-response.
    await using proxy = await FaultProxy.start({ socketPath: "/var/run/docker.sock" });
    const client = dockerClient({ env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` } });
    const context = await mkdtemp(path.join(tmpdir(), "pdu-silent-"));
    onTestFinished(() => rm(context, { recursive: true, force: true }));
    await writeFile(
      path.join(context, "Dockerfile"),
      `FROM busybox\nRUN echo pdu-silent-${randomUUID()}\n`,
    );
    const events: ProgressEvent[] = [];
    // Labels the test setup adds make more steps; the cut comes before the second, the RUN.
    proxy.stallAt("Step 2/");
    const error = await buildImage(context, {
      docker: client,
      inactivityTimeoutMs: 1_500,
      retries: 0,
      onProgress: (event) => events.push(event),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InactivityTimeoutError);
    expect(error).toMatchObject({ code: "ERR_DOCKER_INACTIVITY_TIMEOUT", timeoutMs: 1_500 });
    // The engine had answered, and went on answering, but nothing more got through.
    expect(events.filter((e) => e.type === "step")).toEqual([
      expect.objectContaining({ step: 1, instruction: "FROM busybox" }),
    ]);
    expect(proxy.heldBytes).toBeGreaterThan(0);
  });

  it("fails the push with an inactivity timeout instead of hanging", async () => {
    const repository = testRepository("faults-silent");
    await using proxy = await FaultProxy.start({ socketPath: "/var/run/docker.sock" });
    const client = dockerClient({ env: { DOCKER_HOST: `tcp://127.0.0.1:${proxy.port}` } });
    const statuses: string[] = [];
    proxy.stallAt("Preparing");
    const error = await pushImage(bigImage, REGISTRY_URL, repository, {
      docker: client,
      tag: `silent-${randomUUID()}`,
      inactivityTimeoutMs: 1_500,
      retries: 0,
      onProgress: (event) => {
        if (event.type === "status") statuses.push(event.status);
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InactivityTimeoutError);
    expect(statuses).toEqual([expect.stringMatching(/^The push refers to repository/)]);
    expect(proxy.heldBytes).toBeGreaterThan(0);
    expect(await registryTags(repository)).toEqual([]);
  });
});
