// Which engine an integration project tests: the Docker engine on its default socket, or the one
// the project's DOCKER_HOST names (the podman project: Podman's Docker-compatible API service,
// scripts/test-services.sh). No vitest import: the global setup uses it too.

/** The Docker engine's socket, where DOCKER_HOST names no other. */
export const DOCKER_SOCKET = "/var/run/docker.sock";

/** Podman's API socket, as scripts/test-services.sh serves it. */
export const PODMAN_SOCKET = "/run/pdu-podman/podman.sock";

/** The socket of the engine under test: DOCKER_HOST's when it is a unix:// URL. */
export function testEngineSocket(env: Readonly<Record<string, string | undefined>>): string {
  const host = env.DOCKER_HOST;
  if (host === undefined || host === "") return DOCKER_SOCKET;
  if (!host.startsWith("unix://")) {
    throw new Error(
      `The integration tests take a unix:// DOCKER_HOST, not ${JSON.stringify(host)}`,
    );
  }
  return host.slice("unix://".length);
}
