/**
 * `prefect-dockerutils/engine`: the low-level pieces under the operations, for code that talks to
 * a Docker engine's API itself (with dockerode or plain HTTP) and wants to send what this
 * library sends: the registry login headers, Docker Hub's key in the Docker configuration, and
 * the test that decides whether a failure is retried. The package root holds the operations; a
 * subpath of its own keeps these wire-level names out of its way.
 * @module
 */

export { registryAuthHeader, registryConfigHeader } from "./auth/credentials.js";
export { isTransientError, TRANSIENT_ERROR_PATTERNS } from "./operation/retry.js";
export { DOCKER_HUB_KEY } from "./reference/registry-key.js";
