// Helpers of the multi-platform tests: COPY-only contexts (they build for any platform without
// emulation), reading an index back through the Registry API, pulling one platform with the
// 20.10 CLI, and what a test left on the engine.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { onTestFinished } from "vitest";
import { IMAGE_LABELS } from "../../../src/index.js";
import { authorization, type Registry } from "../registries.js";
import { docker } from "../support.js";

const run = promisify(execFile);
const DOCKER_CLI = "/usr/bin/docker";

/**
 * A context whose Dockerfile only copies (`FROM scratch`), so it builds for any platform, with a
 * file of unique content. Removed when the test finishes.
 */
export async function platformContext(
  dockerfile = "FROM scratch\nCOPY hello.txt /hello.txt\n",
  files: Readonly<Record<string, string | Buffer>> = {},
): Promise<{ dir: string; text: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "pdu-platforms-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const text = `hello from every platform ${randomUUID()}\n`;
  await writeFile(path.join(dir, "Dockerfile"), dockerfile);
  await writeFile(path.join(dir, "hello.txt"), text);
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, name), content, { mode: 0o755 });
  }
  return { dir, text };
}

/** A manifest or index read back from a registry, with the media type it came as. */
export interface Fetched {
  readonly mediaType: string | null;
  readonly digest: string | null;
  readonly json: Record<string, unknown> & {
    manifests?: { digest: string; mediaType: string; platform: Record<string, string> }[];
    config?: { digest: string; mediaType: string };
    layers?: { digest: string; mediaType: string; size: number }[];
  };
}

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** GETs `/v2/<repository>/manifests/<reference>` with the registry's login. */
export async function fetchManifest(
  registry: Registry,
  repository: string,
  reference: string,
): Promise<Fetched> {
  const headers = await authorization(registry, `repository:${repository}:pull`);
  const response = await fetch(`http://${registry.host}/v2/${repository}/manifests/${reference}`, {
    headers: { ...headers, Accept: ACCEPT },
  });
  if (!response.ok) throw new Error(`${repository}:${reference}: HTTP ${response.status}`);
  return {
    mediaType: response.headers.get("content-type"),
    digest: response.headers.get("docker-content-digest"),
    json: (await response.json()) as Fetched["json"],
  };
}

/** GETs a blob (a config) as JSON. */
export async function fetchBlobJson(
  registry: Registry,
  repository: string,
  digest: string,
): Promise<Record<string, unknown>> {
  const headers = await authorization(registry, `repository:${repository}:pull`);
  const response = await fetch(`http://${registry.host}/v2/${repository}/blobs/${digest}`, {
    headers,
  });
  if (!response.ok) throw new Error(`${repository}@${digest}: HTTP ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

/**
 * The index under `tag`, and for each of its platforms the architecture and OS its image's config
 * says, read through the Registry API.
 */
export async function readIndex(
  registry: Registry,
  repository: string,
  tag: string,
): Promise<{ index: Fetched; configs: { platform: string; config: string }[] }> {
  const index = await fetchManifest(registry, repository, tag);
  const configs = [];
  for (const entry of index.json.manifests ?? []) {
    const manifest = await fetchManifest(registry, repository, entry.digest);
    const config = await fetchBlobJson(
      registry,
      repository,
      manifest.json.config?.digest as string,
    );
    configs.push({
      platform: `${entry.platform.os}/${entry.platform.architecture}`,
      config: `${config.os}/${config.architecture}`,
    });
  }
  return { index, configs };
}

/** A Docker config folder logged in to `registry` (through the CLI: the engine checks it). */
export async function loggedInConfig(registry: Registry): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "pdu-platforms-config-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  if (registry.login) {
    const login = run(DOCKER_CLI, [
      "--config",
      dir,
      "login",
      "-u",
      registry.login.username,
      "--password-stdin",
      registry.host,
    ]);
    login.child.stdin?.end(registry.login.password);
    await login;
  }
  return dir;
}

/**
 * Pulls `reference` for `platform` with the 20.10 CLI, and resolves to the architecture of what
 * it pulled; the pulled tag (and so the image) is removed again.
 */
export async function pulledArchitecture(
  reference: string,
  platform: string,
  config: string,
): Promise<string> {
  await run(DOCKER_CLI, ["--config", config, "pull", "-q", "--platform", platform, reference]);
  try {
    const { stdout } = await run(DOCKER_CLI, [
      "image",
      "inspect",
      "--format",
      "{{.Os}}/{{.Architecture}}",
      reference,
    ]);
    return stdout.trim();
  } finally {
    await run(DOCKER_CLI, ["image", "rm", reference]);
  }
}

/** The images on the engine that carry the current test's label (what its builds made). */
export async function imagesOfThisTest(): Promise<string[]> {
  const label = `io.prefect-dockerutils.test-id=${IMAGE_LABELS["io.prefect-dockerutils.test-id"]}`;
  const images = await docker.listImages({
    all: true,
    filters: JSON.stringify({ label: [label] }),
  });
  return images.map((image) => image.Id);
}
