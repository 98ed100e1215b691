/**
 * Every error class prefect-dockerutils throws on purpose. Callers match on `code`, stable across
 * releases; `message` is the engine's or registry's own text where there is one, extra data lives
 * in fields. Any other error a caller sees is `signal.reason` unchanged, or a bug.
 * @module
 */

/** Every stable error code this library sets on the errors it throws. */
export type DockerUtilsErrorCode =
  | "ERR_DOCKER_BUILD"
  | "ERR_DOCKER_DOCKERFILE_NOT_FOUND"
  | "ERR_DOCKER_PUSH"
  | "ERR_DOCKER_ENGINE_UNREACHABLE"
  | "ERR_DOCKER_ENGINE_HTTP"
  | "ERR_DOCKER_CONTEXT"
  | "ERR_DOCKER_INVALID_ARGUMENT"
  | "ERR_DOCKER_INVALID_STATE"
  | "ERR_DOCKER_CREDENTIALS"
  | "ERR_DOCKER_INACTIVITY_TIMEOUT"
  | "ERR_DOCKER_MISSING_DEPENDENCY"
  | "ERR_DOCKER_REGISTRY";

/** The fields of a {@link BuildError} or {@link PushError}, as its constructor takes them. */
export interface EngineFailureDetails {
  /** `errorDetail.code`, the HTTP status, or the registry's status relayed as text. */
  readonly statusCode?: number | undefined;
  /** The build step that was running, e.g. `Step 4/4 : RUN false`. */
  readonly step?: string | undefined;
  /** The last lines of output before the failure (at most 50). */
  readonly logTail?: readonly string[] | undefined;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/** Base class of every error this library throws on purpose. */
export abstract class DockerUtilsError extends Error {
  /** A stable, machine-readable code. */
  abstract readonly code: DockerUtilsErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** The base of the errors that carry what the engine said about a failed operation. */
abstract class EngineFailure extends DockerUtilsError {
  /**
   * `errorDetail.code` or the HTTP status, when the engine gave one; for a refused push, the
   * registry's (401 `unauthorized`, 403 `denied`), which the engine relays only as text.
   */
  readonly statusCode: number | undefined;
  /** The last lines of output before the failure (at most 50). */
  readonly logTail: readonly string[];

  constructor(message: string, details: EngineFailureDetails = {}) {
    super(message, { cause: details.cause });
    this.statusCode = details.statusCode;
    this.logTail = details.logTail ?? [];
  }
}

/**
 * Raised when a build fails: the engine refused it, reported an error inside its (HTTP 200)
 * progress stream, or the stream ended without an image ID.
 */
export class BuildError extends EngineFailure {
  override readonly name: string = "BuildError";
  /** `ERR_DOCKER_BUILD`, or a subclass's own code ({@link DockerfileNotFoundError}). */
  readonly code: "ERR_DOCKER_BUILD" | "ERR_DOCKER_DOCKERFILE_NOT_FOUND" = "ERR_DOCKER_BUILD";
  /** The build step that was running when the build failed. */
  readonly step: string | undefined;

  constructor(message: string, details: EngineFailureDetails = {}) {
    super(message, details);
    this.step = details.step;
  }
}

/** The details of a {@link PushError}. */
export interface PushErrorDetails extends EngineFailureDetails {
  /** Whether the registry refused the login, or got none. @default false */
  readonly authFailure?: boolean | undefined;
}

/**
 * Raised before anything is sent when the Dockerfile is not there. A {@link BuildError}, as in
 * Prefect (docker-py's for `Cannot locate specified Dockerfile`), with a code of its own.
 */
export class DockerfileNotFoundError extends BuildError {
  override readonly name = "DockerfileNotFoundError";
  override readonly code = "ERR_DOCKER_DOCKERFILE_NOT_FOUND" as const;
  /** The Dockerfile's path as it was looked for (absolute). */
  readonly path: string;

  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.path = path;
  }
}

/**
 * Raised when a push fails: tagging, the request, or an error inside its progress stream. A
 * refused login's message adds the registry, where the login came from and how to fix it.
 */
export class PushError extends EngineFailure {
  override readonly name = "PushError";
  readonly code = "ERR_DOCKER_PUSH" as const;
  /** Whether the registry refused the login or got none: a login to fix, not an outage. */
  readonly authFailure: boolean;

  constructor(message: string, details: PushErrorDetails = {}) {
    super(message, details);
    this.authFailure = details.authFailure ?? false;
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

/**
 * An engine answer that was not a success, with the engine's own message. Builds and pushes wrap
 * it as their `cause`; it reaches callers directly only from lower-level calls.
 */
export class EngineHttpError extends DockerUtilsError {
  override readonly name = "EngineHttpError";
  readonly code = "ERR_DOCKER_ENGINE_HTTP" as const;
  /** The HTTP status of the engine's answer. */
  readonly statusCode: number;

  constructor(message: string, statusCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.statusCode = statusCode;
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

/** Raised when an object's state forbids the call, e.g. an `ImageBuilder` after `close()`. */
export class InvalidStateError extends DockerUtilsError {
  override readonly name = "InvalidStateError";
  readonly code = "ERR_DOCKER_INVALID_STATE" as const;
}

/**
 * Raised when a credential helper is missing, fails, answers nonsense or takes too long. The
 * message names the helper and where it was configured, never a secret or the helper's output.
 */
export class CredentialsError extends DockerUtilsError {
  override readonly name = "CredentialsError";
  readonly code = "ERR_DOCKER_CREDENTIALS" as const;
  /** The helper program, e.g. `docker-credential-ecr-login`, when a helper was involved. */
  readonly helper: string | undefined;

  constructor(message: string, helper?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.helper = helper;
  }
}

/** Raised when the engine sends nothing for longer than the inactivity timeout. */
export class InactivityTimeoutError extends DockerUtilsError {
  override readonly name = "InactivityTimeoutError";
  readonly code = "ERR_DOCKER_INACTIVITY_TIMEOUT" as const;
  /** The timeout that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`The engine sent nothing for ${timeoutMs} ms (inactivity timeout)`);
    this.timeoutMs = timeoutMs;
  }
}

/** Raised when a call needs an optional peer dependency that is not installed (`dockerode`). */
export class MissingDependencyError extends DockerUtilsError {
  override readonly name = "MissingDependencyError";
  readonly code = "ERR_DOCKER_MISSING_DEPENDENCY" as const;
  /** The package to install, e.g. `dockerode`. */
  readonly dependency: string;

  constructor(message: string, dependency: string, options?: { cause?: unknown }) {
    super(message, options);
    this.dependency = dependency;
  }
}

/**
 * A registry's answer that was not a success, from the library's own Registry HTTP API client
 * (multi-platform pushes). A push that fails with one rejects with a {@link PushError} around it.
 */
export class RegistryError extends DockerUtilsError {
  override readonly name = "RegistryError";
  readonly code = "ERR_DOCKER_REGISTRY" as const;
  /** The HTTP status of the registry's (or its token server's) answer, when there was one. */
  readonly statusCode: number | undefined;
  /** The registry host, e.g. `ghcr.io` or `127.0.0.1:5000`. */
  readonly registry: string;
  /** The `code` of each entry of the registry's `errors` list, e.g. `["UNAUTHORIZED"]`. */
  readonly errorCodes: readonly string[];

  constructor(
    message: string,
    details: {
      readonly registry: string;
      readonly statusCode?: number | undefined;
      readonly errorCodes?: readonly string[] | undefined;
      readonly cause?: unknown;
    },
  ) {
    super(message, { cause: details.cause });
    this.registry = details.registry;
    this.statusCode = details.statusCode;
    this.errorCodes = details.errorCodes ?? [];
  }
}
