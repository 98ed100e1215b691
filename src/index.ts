/**
 * prefect-dockerutils: Prefect's `dockerutils` for Node. This file is the package root's whole
 * surface; the subpaths `./steps`, `./testing`, `./dockerode` and `./engine` (the low-level
 * registry headers and retry test) have their own entry files.
 * @module
 */

export {
  type CredentialOptions,
  type RegistryAuth,
  resolveRegistryAuth,
} from "./auth/credentials.js";
export {
  type BuildContext,
  type BuildContextChunk,
  type BuildContextEntry,
  type BuildContextOptions,
  type BuildContextOverlay,
  createBuildContext,
} from "./build-context/build-context.js";
export type { BuildBackend } from "./deploy/build-backend.js";
export {
  DockerImage,
  type DockerImageCallOptions,
  type DockerImageOptions,
} from "./deploy/docker-image.js";
export {
  type DockerClientOptions,
  type EngineEndpoint,
  type ModemOptions,
  resolveEngine,
} from "./docker-config/endpoint.js";

export type { DockerodeClient } from "./engine/client-endpoint.js";
export { type TagImageOptions, tagImage } from "./engine/tag-image.js";
export {
  BuildContextError,
  BuildError,
  CredentialsError,
  DockerfileNotFoundError,
  DockerUtilsError,
  type DockerUtilsErrorCode,
  EngineHttpError,
  EngineUnreachableError,
  InactivityTimeoutError,
  InvalidArgumentError,
  InvalidStateError,
  MissingDependencyError,
  PushError,
  RegistryError,
} from "./errors.js";
export type {
  Builder,
  BuildImageOptions,
  BuildSecret,
} from "./operation/build-image-options.js";
export { type CheckEngineOptions, checkEngine } from "./operation/check-engine.js";
export type { EngineOperationOptions } from "./operation/operation-options.js";
export type { RetryOptions } from "./operation/retry.js";
export { buildImage } from "./prefect/build-image.js";
export {
  type BuildMultiPlatformOptions,
  buildMultiPlatformImage,
  type MultiPlatformImage,
  type PlatformManifest,
} from "./prefect/build-multi-platform.js";
export {
  type DefaultDockerfileOptions,
  type GeneratedDockerfile,
  generateDefaultDockerfile,
} from "./prefect/default-dockerfile.js";
export { toRunCommand } from "./prefect/dockerfile.js";
export {
  ImageBuilder,
  type ImageBuilderBuildOptions,
  type ImageBuilderCopyOptions,
  type ImageBuilderOptions,
} from "./prefect/image-builder.js";
export {
  formatOutlierVersionName,
  parseImageTag,
  splitRepositoryPath,
} from "./prefect/image-name.js";
export { CONTAINER_LABELS, IMAGE_LABELS } from "./prefect/labels.js";
export {
  DEFAULT_PYTHON_VERSION,
  type DetectPythonVersionOptions,
  detectPythonVersion,
  getPrefectImageName,
  PREFECT_VERSION,
  type PrefectImageNameOptions,
  type PythonVersion,
  pythonVersionMicro,
  pythonVersionMinor,
  type ResolvePrefectImageNameOptions,
  resolvePrefectImageName,
} from "./prefect/prefect-image.js";
export {
  type PushImageOptions,
  type PushResult,
  pushImage,
  pushImageDetailed,
} from "./prefect/push-image.js";
export {
  type ImageReference,
  parseImageReference,
  registryOfImage,
} from "./reference/image-reference.js";
export type {
  BlobEvent,
  BuildOutputEvent,
  BuildStepEvent,
  ContextSyncEvent,
  ImageIdEvent,
  IndexEvent,
  LayerStatusEvent,
  PlatformEvent,
  ProgressEvent,
  ProgressListener,
  PushDigestEvent,
  RetryEvent,
  VertexEvent,
  VertexLogEvent,
  VertexStatusEvent,
} from "./streams/progress.js";
