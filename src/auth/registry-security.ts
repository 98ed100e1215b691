/**
 * Whether the engine treats a registry as insecure, read from its own settings (`GET /info`).
 * The engine, not the client, decides how it talks to a registry: it ignores the scheme of the
 * URL a caller has in mind, speaks HTTPS to every registry, and for a registry it treats as
 * insecure (its `insecure-registries`, and always 127.0.0.0/8) falls back to plain HTTP when HTTPS
 * fails.
 * @module
 */
import { BlockList, isIP } from "node:net";
import type { EngineConnection } from "../engine/engine-connection.js";

interface RegistryConfig {
  readonly InsecureRegistryCIDRs?: readonly unknown[] | null;
  readonly IndexConfigs?: Readonly<Record<string, { readonly Secure?: unknown }>> | null;
}

/**
 * `true` when the engine treats `host` (`host[:port]`) as an insecure registry, `false` when it
 * treats it as secure, `undefined` when the client cannot tell (a host name other than
 * `localhost`: the engine resolves it itself, maybe to other addresses than the client would).
 * The rule is moby's `isSecureIndex`: an `IndexConfigs` entry decides, else the address's match
 * with `InsecureRegistryCIDRs`.
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
 * How to make the engine treat `host` as an insecure registry (plain HTTP), as advice to append
 * to an error: Docker reads `insecure-registries` from its daemon.json; Podman reads no
 * daemon.json but `[[registry]]` tables of registries.conf, once, when its service starts.
 */
export function insecureRegistryAdvice(host: string, podman: boolean): string {
  return podman
    ? `mark it insecure in /etc/containers/registries.conf (~/.config/containers/registries.conf for rootless Podman): [[registry]] location = "${host}" insecure = true, then restart the Podman service`
    : `list "${host}" in insecure-registries of the engine's daemon.json`;
}
