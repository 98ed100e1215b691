/**
 * `prefect-dockerutils/dockerode`: {@link dockerClient}, a dockerode client configured like the
 * docker CLI. A subpath of its own because its types are dockerode's: the package root's types
 * need no dockerode, this entry's need `@types/dockerode` (dockerode is an optional peer
 * dependency).
 * @module
 */

export type { DockerClientOptions } from "./docker-config/endpoint.js";
export { dockerClient } from "./engine/docker-client.js";
