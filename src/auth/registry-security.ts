/**
 * Whether the engine treats a registry as insecure, read from its own settings (`GET /info`): the
 * engine speaks HTTPS to every registry, whatever URL a caller has in mind, and falls back to
 * plain HTTP only for one it treats as insecure (its `insecure-registries`, always 127.0.0.0/8).
 * @module
 */
import { BlockList, isIP } from "node:net";
import type { EngineConnection } from "../engine/engine-connection.js";

interface RegistryConfig {
  readonly InsecureRegistryCIDRs?: readonly unknown[] | null;
  readonly IndexConfigs?: Readonly<Record<string, { readonly Secure?: unknown }>> | null;
}

/**
 * Whether the engine treats `host[:port]` as insecure, by moby's `isSecureIndex`: its
 * `IndexConfigs` entry, else its address in `InsecureRegistryCIDRs`. `undefined` for a host name
 * other than `localhost`, which the engine may resolve to other addresses than the client would.
 */
export async function engineTreatsAsInsecure(
  engine: EngineConnection,
  host: string,
  signal?: AbortSignal,
): Promise<boolean | undefined> {
  const info = (await engine.requestJson({
    method: "GET",
    path: "/info",
    ...(signal ? { signal } : {}),
  })) as { RegistryConfig?: RegistryConfig } | undefined;
  const config = info?.RegistryConfig;
  if (!config) return undefined;
  const index = config.IndexConfigs?.[host];
  if (index && typeof index.Secure === "boolean") return !index.Secure;
  const hostname = host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  const addresses = hostname === "localhost" ? ["127.0.0.1", "::1"] : [hostname];
  if (!addresses.every((address) => isIP(address) !== 0)) return undefined;
  const insecure = new BlockList();
  for (const cidr of config.InsecureRegistryCIDRs ?? []) {
    const [network, prefix] = String(cidr).split("/");
    const family = isIP(network ?? "");
    if (!network || !family || prefix === undefined) continue;
    insecure.addSubnet(network, Number(prefix), family === 6 ? "ipv6" : "ipv4");
  }
  return addresses.some((address) =>
    insecure.check(address, isIP(address) === 6 ? "ipv6" : "ipv4"),
  );
}

/**
 * Advice, for an error, on making the engine treat `host` as insecure: Docker reads daemon.json;
 * Podman reads `[[registry]]` tables of registries.conf, once, when its service starts.
 */
export function insecureRegistryAdvice(host: string, podman: boolean): string {
  return podman
    ? `mark it insecure in /etc/containers/registries.conf (~/.config/containers/registries.conf for rootless Podman): [[registry]] location = "${host}" insecure = true, then restart the Podman service`
    : `list "${host}" in insecure-registries of the engine's daemon.json`;
}
