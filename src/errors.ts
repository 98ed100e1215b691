/**
 * Error classes thrown by prefect-dockerutils. Callers match on `code`, which is stable across
 * releases; `message` is the engine's or registry's own text wherever there is one.
 * @module
 */

/** Every stable error code this library sets on the errors it throws. */
export type DockerUtilsErrorCode =
  | "ERR_DOCKER_BUILD"
  | "ERR_DOCKER_PUSH"
  | "ERR_DOCKER_ENGINE_UNREACHABLE"
  | "ERR_DOCKER_CONTEXT"
  | "ERR_DOCKER_INVALID_ARGUMENT"
  | "ERR_DOCKER_CREDENTIALS";

/** Fields shared by the errors that describe a failure reported by the engine. */
export interface EngineFailureDetails {
  /** `errorDetail.code` from the engine's JSON stream, or the HTTP status of a failed request. */
  readonly statusCode?: number | undefined;
  /** The build step that was running when the build failed, e.g. `Step 4/4 : RUN false`. */
  readonly step?: string | undefined;
  /** The last lines of output the engine sent before the failure (at most 50). */
  readonly logTail?: readonly string[] | undefined;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/** Base class of every error this library throws on purpose. */
export abstract class DockerUtilsError extends Error {
  /** A stable, machine-readable code. */
  abstract readonly code: DockerUtilsErrorCode;
}

/**
 * Raised when a Docker build fails: the engine refused the request, or reported an error inside
 * its (HTTP 200) progress stream, or the stream ended without an image ID.
 */
export class BuildError extends DockerUtilsError {
  override readonly name = "BuildError";
  readonly code = "ERR_DOCKER_BUILD" as const;
  /** `errorDetail.code` or the HTTP status, when the engine gave one. */
  readonly statusCode: number | undefined;
  /** The build step that was running when the build failed. */
  readonly step: string | undefined;
  /** The last lines of build output before the failure (at most 50). */
  readonly logTail: readonly string[];

  constructor(message: string, details: EngineFailureDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.statusCode = details.statusCode;
    this.step = details.step;
    this.logTail = details.logTail ?? [];
  }
}

/**
 * Raised when pushing an image fails: tagging, the push request, or an error reported inside the
 * push's progress stream (for example a registry that refuses the connection).
 */
export class PushError extends DockerUtilsError {
  override readonly name = "PushError";
  readonly code = "ERR_DOCKER_PUSH" as const;
  /** `errorDetail.code` or the HTTP status, when the engine gave one. */
  readonly statusCode: number | undefined;
  /** The last lines of push output before the failure (at most 50). */
  readonly logTail: readonly string[];

  constructor(message: string, details: EngineFailureDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.statusCode = details.statusCode;
    this.logTail = details.logTail ?? [];
  }
}

/** Raised when the Docker engine cannot be reached at the endpoint that was tried. */
export class EngineUnreachableError extends DockerUtilsError {
  override readonly name = "EngineUnreachableError";
  readonly code = "ERR_DOCKER_ENGINE_UNREACHABLE" as const;
  /** The endpoint that was tried, e.g. `unix:///var/run/docker.sock`. */
  readonly endpoint: string;

  constructor(message: string, endpoint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.endpoint = endpoint;
  }
}

/** Raised when a build context cannot be read: a file vanished, is unreadable, or is outside it. */
export class BuildContextError extends DockerUtilsError {
  override readonly name = "BuildContextError";
  readonly code = "ERR_DOCKER_CONTEXT" as const;
  /** The path that could not be read or resolved. */
  readonly path: string;

  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/** Raised (synchronously or as a rejection, before any I/O) for arguments that cannot work. */
export class InvalidArgumentError extends DockerUtilsError {
  override readonly name = "InvalidArgumentError";
  readonly code = "ERR_DOCKER_INVALID_ARGUMENT" as const;
}
