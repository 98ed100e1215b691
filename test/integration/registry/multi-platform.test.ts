// buildMultiPlatformImage against the real engine and the three real registries (open, htpasswd,
// bearer token): each platform built on the engine's BuildKit, pushed by digest, one OCI index
// under the tag; read back through the Registry API and pulled per platform with the 20.10 CLI.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  BuildError,
  buildImage,
  buildMultiPlatformImage,
  DockerImage,
  type ProgressEvent,
  PushError,
} from "../../../src/index.js";
import { buildDockerImage } from "../../../src/steps.js";
import { authRegistry, tokenRegistry } from "../../support/credentials/engine-ops.js";
import { dockerConfig, envWith, installHelper } from "../../support/credentials/support.js";
import { FaultProxy } from "../fault-proxy.js";
import { OPEN_REGISTRY, type Registry, tagsOf, testRegistries } from "../registries.js";
import { removeOwnImage, testRepository } from "../support.js";
import {
  fetchManifest,
  imagesOfThisTest,
  loggedInConfig,
  platformContext,
  pulledArchitecture,
  readIndex,
} from "./platform-support.js";

const PLATFORMS = ["linux/amd64", "linux/arm64"];

async function registries(): Promise<Record<"open" | "htpasswd" | "token", Registry>> {
  const [open, htpasswd, token] = (await testRegistries()) as [Registry, Registry, Registry];
  return { open, htpasswd, token };
}

/** A Docker config folder whose `auths` has the registry's login (no CLI involved). */
async function dockerConfigWith(registry: Registry): Promise<NodeJS.ProcessEnv> {
  const dir = await mkdtemp(path.join(tmpdir(), "pdu-platforms-auths-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const { username, password } = registry.login ?? { username: "", password: "" };
  await writeFile(
    path.join(dir, "config.json"),
    JSON.stringify({
      auths: {
        [registry.host]: { auth: Buffer.from(`${username}:${password}`).toString("base64") },
      },
    }),
  );
  return { ...process.env, DOCKER_CONFIG: dir };
}

describe.each(["open", "htpasswd", "token"] as const)(
  "buildMultiPlatformImage to the %s registry",
  (kind) => {
    it("pushes one OCI index of both platforms; each pulls as its own architecture", async () => {
      const registry = (await registries())[kind];
      const repository = testRepository("platforms");
      const { dir } = await platformContext();
      const events: ProgressEvent[] = [];
      const result = await buildMultiPlatformImage(dir, `${registry.host}/${repository}:multi`, {
        platforms: PLATFORMS,
        // The login comes from the Docker configuration's auths, as `docker login` leaves it.
        env: await dockerConfigWith(registry),
        onProgress: (event) => events.push(event),
      });

      expect(result.reference).toBe(`${registry.host}/${repository}:multi`);
      expect(result.mediaType).toBe("application/vnd.oci.image.index.v1+json");
      expect(result.manifests.map((manifest) => manifest.platform)).toEqual(PLATFORMS);
      const { index, configs } = await readIndex(registry, repository, "multi");
      expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
      expect(index.digest).toBe(result.digest);
      expect(index.json.manifests?.map((entry) => entry.digest)).toEqual(
        result.manifests.map((manifest) => manifest.digest),
      );
      expect(index.json.manifests?.map((entry) => entry.mediaType)).toEqual([
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
      ]);
      expect(configs).toEqual([
        { platform: "linux/amd64", config: "linux/amd64" },
        { platform: "linux/arm64", config: "linux/arm64" },
      ]);
      // Only the index's tag: the platforms went up by digest.
      expect(await tagsOf(registry, repository)).toEqual(["multi"]);
      // Nothing tagged, and no per-platform image left on the engine.
      expect(await imagesOfThisTest()).toEqual([]);
      // Typed events for each platform and for the index.
      const states = events
        .filter((event) => event.type === "platform")
        .map((event) => `${event.platform} ${event.state}`);
      for (const platform of PLATFORMS) {
        expect(states).toEqual(
          expect.arrayContaining([
            `${platform} building`,
            `${platform} built`,
            `${platform} pushed`,
          ]),
        );
      }
      expect(events.filter((event) => event.type === "index")).toEqual([
        {
          type: "index",
          reference: result.reference,
          digest: result.digest,
          size: result.size,
          manifests: result.manifests,
        },
      ]);

      const config = await loggedInConfig(registry);
      expect(await pulledArchitecture(result.reference, "linux/arm64", config)).toBe("linux/arm64");
      expect(await pulledArchitecture(result.reference, "linux/amd64", config)).toBe("linux/amd64");
    });
  },
);

describe("buildMultiPlatformImage's logins", () => {
  it("fails with the registry's 401 for a wrong password, before building, and does not retry", async () => {
    const registry = await authRegistry();
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const events: ProgressEvent[] = [];
    const started = performance.now();
    const error = await buildMultiPlatformImage(dir, `${registry.host}/${repository}:x`, {
      platforms: PLATFORMS,
      auth: { username: registry.username, password: "not the password" },
      retryDelayMs: 5_000,
      onProgress: (event) => events.push(event),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).statusCode).toBe(401);
    expect((error as PushError).message).toMatch(/^unauthorized: authentication required/);
    expect((error as PushError).message).toContain(
      `registry ${registry.host}; login: options.auth`,
    );
    expect(events.filter((event) => event.type === "retry")).toEqual([]);
    expect(events.filter((event) => event.type === "platform")).toEqual([]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("fails with the token server's 401 for a wrong password, not retried", async () => {
    const registry = await tokenRegistry();
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const events: ProgressEvent[] = [];
    const error = await buildMultiPlatformImage(dir, `${registry.host}/${repository}:x`, {
      platforms: PLATFORMS,
      auth: { username: registry.username, password: "not the password" },
      retryDelayMs: 5_000,
      onProgress: (event) => events.push(event),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PushError);
    expect((error as PushError).statusCode).toBe(401);
    expect((error as PushError).message).toContain("refused the login from options.auth");
    expect((error as PushError).message).toContain("incorrect username or password");
    expect(events.filter((event) => event.type === "retry")).toEqual([]);
  });

  it("takes the login from a credential helper named in credHelpers", async () => {
    const registry = await tokenRegistry();
    const helper = await installHelper("pdu-test", {
      [registry.host]: { Username: registry.username, Secret: registry.password },
    });
    const config = await dockerConfig({ credHelpers: { [registry.host]: "pdu-test" } });
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const result = await buildMultiPlatformImage(dir, `${registry.host}/${repository}:helper`, {
      platforms: PLATFORMS,
      env: envWith(config, helper.binDir),
    });
    expect(await helper.calls()).toEqual([{ action: "get", input: registry.host }]);
    const { index } = await readIndex(
      { host: registry.host, login: registry, bearer: true },
      repository,
      "helper",
    );
    expect(index.digest).toBe(result.digest);
  });

  it("exchanges an identity token at the token server (OAuth refresh_token grant)", async () => {
    const registry = await tokenRegistry();
    const challenge = (await fetch(`http://${registry.host}/v2/`)).headers.get("www-authenticate");
    const realm = /realm="([^"]+)"/.exec(challenge ?? "")?.[1] as string;
    const granted = await fetch(realm, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "password",
        username: registry.username,
        password: registry.password,
        access_type: "offline",
        service: "pdu-token-registry",
      }),
    });
    const { refresh_token: identitytoken } = (await granted.json()) as { refresh_token: string };
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const result = await buildMultiPlatformImage(dir, `${registry.host}/${repository}:id`, {
      platforms: PLATFORMS,
      auth: { [registry.host]: { identitytoken } },
    });
    const { index } = await readIndex(
      { host: registry.host, login: registry, bearer: true },
      repository,
      "id",
    );
    expect(index.digest).toBe(result.digest);
  });
});

describe("buildMultiPlatformImage's blobs", () => {
  it("skips the blobs a repository has, and mounts those another repository of the registry has", async () => {
    const { open } = await registries();
    const first = testRepository("platforms");
    const second = testRepository("platforms");
    const { dir } = await platformContext();
    const options = { platforms: PLATFORMS, additionalTags: ["latest"] };
    const firstPush = await buildMultiPlatformImage(dir, `${open.host}/${first}:1`, options);
    expect((await tagsOf(open, first)).sort()).toEqual(["1", "latest"]);

    const again: ProgressEvent[] = [];
    const secondPush = await buildMultiPlatformImage(dir, `${open.host}/${first}:2`, {
      ...options,
      additionalTags: [],
      onProgress: (event) => again.push(event),
    });
    expect(secondPush.digest).toBe(firstPush.digest);
    const blobStates = (events: ProgressEvent[]) =>
      [...new Set(events.flatMap((event) => (event.type === "blob" ? [event.state] : [])))].sort();
    expect(blobStates(again)).toEqual(["exists"]);

    const elsewhere: ProgressEvent[] = [];
    await buildMultiPlatformImage(dir, `${open.host}/${second}:1`, {
      ...options,
      additionalTags: [],
      onProgress: (event) => elsewhere.push(event),
    });
    const mounted = elsewhere.filter((event) => event.type === "blob" && event.state === "mounted");
    expect(mounted.length).toBeGreaterThan(0);
    expect(mounted.every((event) => event.type === "blob" && event.from === first)).toBe(true);
    expect(blobStates(elsewhere)).not.toContain("uploaded");
    expect(await imagesOfThisTest()).toEqual([]);
  });
});

describe("builds for a platform without emulation", () => {
  // An aarch64 ELF header: the kernel refuses it with ENOEXEC ("exec format error") on an amd64
  // host without binfmt_misc emulation, which is what RUN meets there.
  const aarch64Elf = Buffer.concat([
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]),
    Buffer.alloc(8),
    Buffer.from([2, 0, 183, 0, 1, 0, 0, 0]),
    Buffer.alloc(40),
  ]);
  const runDockerfile = "FROM scratch\nCOPY sh /bin/sh\nRUN echo hi\n";

  it.each(["buildkit", "classic"] as const)(
    "builds a COPY-only image for linux/arm64 with the %s builder",
    async (builder) => {
      const { dir } = await platformContext();
      const imageId = await buildImage(dir, { builder, platform: "linux/arm64" });
      onTestFinished(() => removeOwnImage(imageId));
      const { docker } = await import("../support.js");
      const image = await docker.getImage(imageId).inspect();
      expect(`${image.Os}/${image.Architecture}`).toBe("linux/arm64");
    },
  );

  it.each(["buildkit", "classic"] as const)(
    "explains exec format error of a linux/arm64 RUN with the %s builder: binfmt on the engine's host",
    async (builder) => {
      const { dir } = await platformContext(runDockerfile, { sh: aarch64Elf });
      const error = await buildImage(dir, {
        builder,
        platform: "linux/arm64",
        networkMode: "host",
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BuildError);
      expect((error as BuildError).message).toContain(
        "exec format error: a RUN step of linux/arm64",
      );
      expect((error as BuildError).message).toContain("binfmt_misc with QEMU");
      expect((error as BuildError).cause).toBeInstanceOf(BuildError);
    },
  );

  it("fails a multi-platform build on the foreign platform's RUN, leaving no tag and no image", async () => {
    const { open } = await registries();
    const repository = testRepository("platforms");
    const { dir } = await platformContext(runDockerfile, { sh: aarch64Elf });
    const error = await buildMultiPlatformImage(dir, `${open.host}/${repository}:x`, {
      // linux/arm64 first: its RUN meets exec format error before linux/amd64 is built.
      platforms: ["linux/arm64", "linux/amd64"],
      networkMode: "host",
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BuildError);
    expect((error as BuildError).message).toContain("a RUN step of linux/arm64");
    expect(await tagsOf(open, repository)).toEqual([]);
    expect(await imagesOfThisTest()).toEqual([]);
  });
});

describe("cancelling buildMultiPlatformImage", () => {
  it("rejects with the signal's reason and leaves no tag and no image", async () => {
    const { open } = await registries();
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const controller = new AbortController();
    const reason = new Error("stop here");
    const error = await buildMultiPlatformImage(dir, `${open.host}/${repository}:x`, {
      platforms: PLATFORMS,
      signal: controller.signal,
      onProgress: (event) => {
        if (
          event.type === "platform" &&
          event.state === "built" &&
          event.platform === "linux/amd64"
        ) {
          controller.abort(reason);
        }
      },
    }).catch((caught: unknown) => caught);
    expect(error).toBe(reason);
    expect(await tagsOf(open, repository)).toEqual([]);
    expect(await imagesOfThisTest()).toEqual([]);
  });
});

describe("the deploy side with several platforms", () => {
  it("DockerImage builds and pushes one index in build(); push() then does nothing", async () => {
    const { open } = await registries();
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const image = new DockerImage(`${open.host}/${repository}:deploy`, {
      builder: "buildx",
      push: true,
      platform: "linux/amd64,linux/arm64",
      dockerfile: "Dockerfile",
      context: dir,
      streamProgressTo: null,
    });
    const digest = await image.build();
    expect(image.pushedDuringBuild).toBe(true);
    expect(await image.push()).toEqual({
      reference: image.reference,
      tag: "deploy",
      digest,
      size: expect.any(Number),
      warnings: [],
    });
    const { index, configs } = await readIndex(open, repository, "deploy");
    expect(index.digest).toBe(digest);
    expect(configs.map((entry) => entry.config)).toEqual(PLATFORMS);
    expect(await imagesOfThisTest()).toEqual([]);
  });

  it("the build_docker_image step with platforms and push: the index under every tag", async () => {
    const { open } = await registries();
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const result = await buildDockerImage({
      image_name: `${open.host}/${repository}`,
      tag: "step",
      additional_tags: ["also"],
      dockerfile: "Dockerfile",
      build_backend: "buildx",
      path: dir,
      platforms: PLATFORMS,
      push: true,
    });
    expect(result.image).toBe(`${open.host}/${repository}:step`);
    const { index, configs } = await readIndex(open, repository, "also");
    expect(result.image_id).toBe(index.digest);
    expect(configs.map((entry) => entry.config)).toEqual(PLATFORMS);
    expect((await tagsOf(open, repository)).sort()).toEqual(["also", "step"]);
    expect(await imagesOfThisTest()).toEqual([]);
  });
});

describe("transient registry failures", () => {
  it("retries what the registry answers with 503, and reports each retry", async () => {
    await using proxy = await FaultProxy.start({ port: Number(OPEN_REGISTRY.split(":")[1]) });
    const repository = testRepository("platforms");
    const { dir } = await platformContext();
    const events: ProgressEvent[] = [];
    const result = await buildMultiPlatformImage(
      dir,
      `127.0.0.1:${proxy.port}/${repository}:retried`,
      {
        platforms: PLATFORMS,
        retryDelayMs: 10,
        onProgress: (event) => {
          events.push(event);
          if (
            event.type === "platform" &&
            event.state === "built" &&
            event.platform === "linux/amd64"
          ) {
            // Every pooled connection goes, and the next ones are answered 503.
            proxy.cutAll();
            proxy.failNextRequests(3);
          }
        },
      },
    );
    expect(proxy.failed).toBe(3);
    const retries = events.filter((event) => event.type === "retry");
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((event) => event.type === "retry" && event.operation === "push")).toBe(
      true,
    );
    const { index } = await readIndex({ host: OPEN_REGISTRY }, repository, "retried");
    expect(index.digest).toBe(result.digest);
  });
});

describe("large layers", () => {
  it("uploads a layer larger than one chunk in PATCH chunks, and starts over after a cut the registry's session does not survive", async () => {
    await using proxy = await FaultProxy.start({ port: Number(OPEN_REGISTRY.split(":")[1]) });
    const repository = testRepository("platforms");
    // Random bytes do not compress: the layer stays above one 32 MiB chunk.
    const { dir } = await platformContext("FROM scratch\nCOPY big.bin /big.bin\n", {
      "big.bin": randomBytes(48 * 1024 * 1024),
    });
    const events: ProgressEvent[] = [];
    let cut = false;
    const result = await buildMultiPlatformImage(dir, `127.0.0.1:${proxy.port}/${repository}:big`, {
      platforms: PLATFORMS,
      retryDelayMs: 10,
      onProgress: (event) => {
        events.push(event);
        // Into the second chunk: the first is in the registry, the second is cut mid-way.
        if (
          !cut &&
          event.type === "blob" &&
          event.state === "uploading" &&
          event.current > 40 * 1024 * 1024
        ) {
          cut = true;
          proxy.cutAll();
        }
      },
    });
    expect(cut).toBe(true);
    expect(events.some((event) => event.type === "retry")).toBe(true);
    const open = { host: OPEN_REGISTRY };
    const manifest = await fetchManifest(open, repository, result.manifests[0]?.digest as string);
    const layer = manifest.json.layers?.[0] as { digest: string; size: number };
    expect(layer.size).toBeGreaterThan(48 * 1024 * 1024);
    const blob = Buffer.from(
      await (
        await fetch(`http://${OPEN_REGISTRY}/v2/${repository}/blobs/${layer.digest}`)
      ).arrayBuffer(),
    );
    expect(blob.length).toBe(layer.size);
    expect(`sha256:${createHash("sha256").update(blob).digest("hex")}`).toBe(layer.digest);
    // The cut attempt's 40 MiB, then the whole layer once more (the other platform's copy of the
    // same layer is not sent again): under three copies in all.
    expect(proxy.bytesToTarget).toBeLessThan(layer.size * 2.5);
  });
});
