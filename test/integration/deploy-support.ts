/**
 * Support for the deploy-side integration tests: a stand-in for Prefect's base image, the engine's
 * own event log, the test registries' tag lists, and a registry that denies like Docker Hub.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { onTestFinished } from "vitest";
import { buildImage, pushImage } from "../../src/index.js";
import { authRegistry } from "../support/credentials/engine-ops.js";
import { tempDir, tree } from "../support/files.js";
import { deleteTags, runNamespace } from "./registries.js";
import { docker, removeOwnImage, TEST_RUN, testRepository } from "./support.js";

/** The open test registry. */
export const OPEN_REGISTRY = "127.0.0.1:5555";

/**
 * Stands in for `uv` in Prefect's image: `uv pip install -r FILE` keeps a copy of FILE at
 * /opt/uv-installed.txt, so a test can see which requirements the auto Dockerfile installed.
 */
const UV_STUB = `#!/bin/sh
[ "$1 $2 $3" = "pip install -r" ] || { echo "unexpected: uv $*" >&2; exit 2; }
# Test controls: a "# sleep N" line makes the install take N seconds, "# fail" makes it fail.
seconds=$(sed -n 's/^# sleep //p' "$4")
[ -z "$seconds" ] || sleep "$seconds"
if grep -q '^# fail' "$4"; then echo "uv: no solution found for the requirements" >&2; exit 1; fi
cp "$4" /opt/uv-installed.txt
`;

let baseImage: Promise<string> | undefined;

/**
 * A base image of ours in place of Prefect's (nothing can be pulled from Docker Hub here):
 * busybox with the `uv` stub, pushed to the open registry so that builds with Prefect's default
 * `pull: true` can pull it. Made once per test file; {@link removeStandInBaseImage} removes it.
 */
export function standInBaseImage(): Promise<string> {
  baseImage ??= (async () => {
    const context = await mkdtemp(path.join(tmpdir(), "pdu-deploy-base-"));
    try {
      await writeFile(path.join(context, "uv"), UV_STUB, { mode: 0o755 });
      await writeFile(
        path.join(context, "Dockerfile"),
        "FROM busybox:latest\nCOPY uv /usr/local/bin/uv\n",
      );
      // In the run's namespace: the global teardown finds it if it were left behind.
      const name = `${runNamespace(TEST_RUN)}/deploy-base-${randomUUID()}`;
      const imageId = await buildImage(context, { tag: `localhost/${name}:1` });
      const reference = await pushImage(imageId, `http://${OPEN_REGISTRY}`, name, { tag: "1" });
      return reference;
    } finally {
      await rm(context, { recursive: true, force: true });
    }
  })();
  return baseImage;
}

/** Removes the stand-in base image from the engine and the registry (for `afterAll`). */
export async function removeStandInBaseImage(): Promise<void> {
  if (!baseImage) return;
  const reference = await baseImage.catch(() => undefined);
  baseImage = undefined;
  if (!reference) return;
  const name = reference.slice(OPEN_REGISTRY.length + 1).replace(/:[^:]*$/, "");
  for (const tag of [reference, `localhost/${name}:1`]) await removeOwnImage(tag);
  await deleteFromRegistry(name, OPEN_REGISTRY);
}

/** One entry of the engine's event log (`GET /events`). */
export interface EngineEvent {
  readonly Type: string;
  readonly Action: string;
  readonly Actor: { readonly ID: string; readonly Attributes: Record<string, string> };
  readonly timeNano: number;
}

/** Seconds since the epoch, as `GET /events` takes `since` and `until`. */
export const engineTime = (): string => (Date.now() / 1000).toFixed(3);

/**
 * The engine's own record of what happened between `since` and now: the image events (`tag`,
 * `push`, ...) that match `filters`.
 */
export async function engineEvents(
  since: string,
  filters: Record<string, string[]>,
): Promise<EngineEvent[]> {
  // `until` a little ahead so events of the last moment are in; the engine answers then.
  const until = ((Date.now() + 500) / 1000).toFixed(3);
  const stream = (await docker.getEvents({
    since: Number(since),
    until: Number(until),
    filters: JSON.stringify({ type: ["image"], ...filters }),
  } as never)) as unknown as NodeJS.ReadableStream;
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as EngineEvent);
}

/** How many events of `action` the engine logged for `name` (without tag) since `since`. */
export async function countEvents(since: string, name: string, action: string): Promise<number> {
  const events = await engineEvents(since, { image: [name], event: [action] });
  return events.filter((event) => event.Action === action).length;
}

/** The tags a registry has for `name`, sorted (`GET /v2/<name>/tags/list`). */
export async function registryTags(
  name: string,
  registry = OPEN_REGISTRY,
  login?: { username: string; password: string },
): Promise<string[]> {
  const headers: Record<string, string> = {};
  if (login) {
    headers.Authorization = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;
  }
  const answer = await fetch(`http://${registry}/v2/${name}/tags/list`, { headers });
  if (answer.status === 404) return [];
  if (!answer.ok) throw new Error(`GET /v2/${name}/tags/list answered ${answer.status}`);
  const body = (await answer.json()) as { tags?: string[] | null };
  return [...(body.tags ?? [])].sort();
}

/** Deletes every tag of `name` from a test registry when the test finishes. */
export function deleteFromRegistryAfterwards(
  name: string,
  registry = OPEN_REGISTRY,
  login?: { username: string; password: string },
): void {
  onTestFinished(() => deleteFromRegistry(name, registry, login));
}

/** Deletes every tag of `name` from a test registry. */
export async function deleteFromRegistry(
  name: string,
  registry: string,
  login?: { username: string; password: string },
): Promise<void> {
  await deleteTags(login ? { host: registry, login } : { host: registry }, name);
}

/** Removes every local tag of `name` (any tag, never another name's) when the test finishes. */
export function removeImagesAfterwards(name: string): void {
  onTestFinished(async () => {
    const images = await docker.listImages({
      filters: JSON.stringify({ reference: [`${name}:*`] }),
    });
    for (const image of images) {
      for (const tag of image.RepoTags ?? []) {
        if (tag.startsWith(`${name}:`)) await removeOwnImage(tag);
      }
    }
  });
}

/**
 * A repository of the open registry for this test only (`prefix` names the test file): its local
 * tags are removed when the test finishes.
 */
export function uniqueRepository(prefix: string): { name: string; path: string } {
  const repositoryPath = testRepository(prefix);
  const name = `${OPEN_REGISTRY}/${repositoryPath}`;
  removeImagesAfterwards(name);
  return { name, path: repositoryPath };
}

/** A local image name of the test's own; its tags are removed when the test finishes. */
export function localName(): string {
  const name = `localhost/${testRepository("deploy-local")}`;
  removeImagesAfterwards(name);
  return name;
}

/** A flow folder named `name`, with a fresh file so that its layer is new to the registry. */
export async function flowFolder(
  name = "flows",
  files: Record<string, string> = {},
): Promise<string> {
  const folder = path.join(await tempDir("pdu-deploy-"), name);
  return tree(folder, { "flow.py": `# ${randomUUID()}\n`, ...files });
}

/** Runs `fn` with `folder` as the working directory, as Prefect's steps are run from a project. */
export async function inChdir<T>(folder: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.cwd();
  process.chdir(folder);
  try {
    return await fn();
  } finally {
    process.chdir(saved);
  }
}

/** The auto-Dockerfile folders in the temporary directory, to check none is left behind. */
export async function autoFolders(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith("prefect-dockerutils-auto-"));
}

/** The htpasswd registry and its login (read from scripts/test-services.sh). */
export { authRegistry };

/**
 * A loopback proxy in front of the htpasswd registry that answers as Docker Hub does when a login
 * is refused: `401` with the registry error code `DENIED` ("requested access to the resource is
 * denied"). The test registry itself says `UNAUTHORIZED` ("authentication required") instead, and
 * only Docker Hub-style registries produce the engine's "pull access denied ..." text that
 * prefect-docker's hint is for.
 */
export class DenyingRegistry implements AsyncDisposable {
  readonly #server: http.Server;
  /** Requests whose 401 was rewritten. */
  denied = 0;

  private constructor(server: http.Server) {
    this.#server = server;
  }

  static async start(upstreamPort: number): Promise<DenyingRegistry> {
    const server = http.createServer();
    const proxy = new DenyingRegistry(server);
    server.on("request", (request, response) => {
      const upstream = http.request(
        {
          host: "127.0.0.1",
          port: upstreamPort,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          if (answer.statusCode === 401 && request.headers.authorization !== undefined) {
            answer.resume();
            proxy.denied++;
            const body = JSON.stringify({
              errors: [
                {
                  code: "DENIED",
                  message: "requested access to the resource is denied",
                  detail: null,
                },
              ],
            });
            response.writeHead(401, {
              "Content-Type": "application/json",
              "Content-Length": Buffer.byteLength(body),
              "Docker-Distribution-Api-Version": "registry/2.0",
            });
            response.end(body);
            return;
          }
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on("error", () => response.destroy());
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  /** `127.0.0.1:<port>`. */
  get host(): string {
    return `127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
