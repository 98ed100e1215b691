// The three test registries of scripts/test-services.sh, as the tests and the global teardown see
// them: every repository a test run pushes to lives under the run's own namespace
// (`pdu-<first 8 of the run's id>/...`), so that runs sharing the registries never read or remove
// each other's tags, and the teardown can find (and fail on) whatever a run left behind.
// No vitest import here: the global setup, which runs outside the test workers, uses it too.
import { authRegistry, type Login, tokenRegistry } from "../support/credentials/engine-ops.js";

/** The open registry. */
export const OPEN_REGISTRY = "127.0.0.1:5555";

/** The namespace of a test run's repositories in both registries. */
export function runNamespace(testRun: string): string {
  return `pdu-${testRun.slice(0, 8)}`;
}

/** Every manifest type the engine pushes, so that HEAD answers with the digest to delete. */
const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

function basic(login: Login): string {
  return `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;
}

/**
 * The Authorization header for `scope` (e.g. `repository:team/app:*`), if the registry needs one:
 * Basic with the login, or (for the token registry) a Bearer token its token server issues for
 * the login, found through the registry's own challenge.
 */
export async function authorization(
  registry: Registry,
  scope: string,
): Promise<Record<string, string>> {
  if (!registry.login) return {};
  if (!registry.bearer) return { Authorization: basic(registry.login) };
  const challenge = (await fetch(`http://${registry.host}/v2/`)).headers.get("www-authenticate");
  const realm = /realm="([^"]+)"/.exec(challenge ?? "")?.[1];
  const service = /service="([^"]+)"/.exec(challenge ?? "")?.[1];
  if (!realm || !service)
    throw new Error(`${registry.host} sent no Bearer challenge: ${challenge}`);
  const url = new URL(realm);
  url.searchParams.set("service", service);
  url.searchParams.set("scope", scope);
  const response = await fetch(url, { headers: { Authorization: basic(registry.login) } });
  if (!response.ok) throw new Error(`token for ${scope} from ${realm}: HTTP ${response.status}`);
  const { token } = (await response.json()) as { token: string };
  return { Authorization: `Bearer ${token}` };
}

/** One of the test registries, with the login it needs. */
export interface Registry {
  readonly host: string;
  readonly login?: Login;
  /** The login buys a Bearer token from the registry's token server (the token registry). */
  readonly bearer?: boolean;
}

/**
 * The three test registries: open, htpasswd, and token (both with the login
 * scripts/test-services.sh set).
 */
export async function testRegistries(): Promise<Registry[]> {
  const auth = await authRegistry();
  const token = await tokenRegistry();
  return [
    { host: OPEN_REGISTRY },
    { host: auth.host, login: auth },
    { host: token.host, login: token, bearer: true },
  ];
}

/** The repositories of a registry whose names start with `prefix`, from its paged catalog. */
export async function repositoriesUnder(registry: Registry, prefix: string): Promise<string[]> {
  const found: string[] = [];
  // The catalog is sorted: start right before the prefix and stop after it.
  let last = prefix.slice(0, -1);
  for (;;) {
    const response = await fetch(
      `http://${registry.host}/v2/_catalog?n=1000&last=${encodeURIComponent(last)}`,
      { headers: await authorization(registry, "registry:catalog:*") },
    );
    if (!response.ok) throw new Error(`${registry.host} catalog: HTTP ${response.status}`);
    const { repositories } = (await response.json()) as { repositories: string[] | null };
    const page = repositories ?? [];
    found.push(...page.filter((name) => name.startsWith(prefix)));
    const next = page.at(-1);
    if (next === undefined || page.length < 1000 || next > `${prefix}\uffff`) return found;
    last = next;
  }
}

/** The tags a repository holds (none when it does not exist). */
export async function tagsOf(registry: Registry, repository: string): Promise<string[]> {
  const response = await fetch(`http://${registry.host}/v2/${repository}/tags/list`, {
    headers: await authorization(registry, `repository:${repository}:pull`),
  });
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`${registry.host}/${repository} tags: HTTP ${response.status}`);
  return ((await response.json()) as { tags: string[] | null }).tags ?? [];
}

/** Deletes every tag of a repository (by its manifest digest); resolves to the tags it found. */
export async function deleteTags(registry: Registry, repository: string): Promise<string[]> {
  const tags = await tagsOf(registry, repository);
  const headers =
    tags.length > 0 ? await authorization(registry, `repository:${repository}:*`) : {};
  for (const tag of tags) await deleteTag(registry, repository, tag, headers);
  return tags;
}

/**
 * Deletes one tag's manifest (and so every tag of that manifest), e.g. a tag pushed outside the
 * run's namespace by code that names its own repository.
 */
export async function deleteTag(
  registry: Registry,
  repository: string,
  tag: string,
  headers?: Record<string, string>,
): Promise<void> {
  const auth = headers ?? (await authorization(registry, `repository:${repository}:*`));
  const head = await fetch(`http://${registry.host}/v2/${repository}/manifests/${tag}`, {
    method: "HEAD",
    headers: { ...auth, Accept: MANIFEST_TYPES },
  });
  const digest = head.headers.get("docker-content-digest");
  if (!head.ok || !digest) return;
  const deleted = await fetch(`http://${registry.host}/v2/${repository}/manifests/${digest}`, {
    method: "DELETE",
    headers: auth,
  });
  // 404: another tag of the same manifest deleted it already.
  if (!deleted.ok && deleted.status !== 404) {
    throw new Error(`${registry.host}/${repository}:${tag}: DELETE answered ${deleted.status}`);
  }
}
