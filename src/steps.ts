/**
 * Prefect's deployment steps for Docker, `prefect_docker.deployments.steps`:
 * `import { buildDockerImage, pushDockerImage } from "prefect-dockerutils/steps"`.
 *
 * Their inputs and outputs are the `prefect.yaml` data contract, so they keep prefect-docker's
 * snake_case keys: pass a step's YAML mapping in, and use the result for `{{ step_id.key }}`.
 * @module
 */
export type { BuildBackend } from "./deploy/build-backend.js";
export {
  type BuildDockerImageInputs,
  type BuildDockerImageResult,
  buildDockerImage,
} from "./deploy/build-docker-image.js";
export {
  type DockerRegistryCredentials,
  type PushDockerImageInputs,
  type PushDockerImageResult,
  pushDockerImage,
} from "./deploy/push-docker-image.js";
export { clearStepCache } from "./deploy/step-cache.js";
export type { BuildStepOptions, StepOptions } from "./deploy/step-options.js";
