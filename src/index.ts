export {
  type BuildContext,
  type BuildContextEntry,
  type BuildContextFs,
  type BuildContextOptions,
  type BuildContextOverlay,
  createBuildContext,
} from "./build-context.js";
export { type BuildImageOptions, buildImage } from "./build-image.js";
export {
  type CredentialOptions,
  CredentialsError,
  DOCKER_HUB_KEY,
  type RegistryAuth,
  registryAuthHeader,
  registryConfigHeader,
  registryOfImage,
  resolveRegistryAuth,
} from "./credentials.js";
export { type GeneratedDockerfile, generateDefaultDockerfile } from "./default-dockerfile.js";
export { toRunCommand } from "./dockerfile.js";
export {
  type CheckEngineOptions,
  checkEngine,
  type DockerClientOptions,
  dockerClient,
  type EngineEndpoint,
  resolveEngine,
} from "./engine.js";
export {
  BuildContextError,
  BuildError,
  DockerUtilsError,
  type DockerUtilsErrorCode,
  EngineUnreachableError,
  InvalidArgumentError,
  PushError,
} from "./errors.js";
export {
  ImageBuilder,
  type ImageBuilderBuildOptions,
  type ImageBuilderOptions,
} from "./image-builder.js";
export { formatOutlierVersionName, parseImageTag, splitRepositoryPath } from "./image-name.js";
export { CONTAINER_LABELS, IMAGE_LABELS } from "./labels.js";
export { InactivityTimeoutError } from "./operation.js";
export {
  DEFAULT_PYTHON_VERSION,
  getPrefectImageName,
  PREFECT_VERSION,
  pythonVersionMicro,
  pythonVersionMinor,
} from "./prefect-image.js";
export type {
  BuildOutputEvent,
  BuildStepEvent,
  ImageIdEvent,
  LayerStatusEvent,
  ProgressEvent,
  ProgressListener,
  PushDigestEvent,
  RetryEvent,
} from "./progress.js";
export {
  type PushImageOptions,
  type PushResult,
  pushImage,
  pushImageDetailed,
} from "./push-image.js";
export { isTransientError, type RetryOptions, TRANSIENT_ERROR_PATTERNS } from "./retry.js";
