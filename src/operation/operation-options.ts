import type { Writable } from "node:stream";
import type { CredentialOptions } from "../auth/credentials.js";
import { checkAuthOption } from "../auth/registry-auth.js";
import {
  DEFAULT_CREDENTIAL_HELPER_TIMEOUT_MS,
  DEFAULT_INACTIVITY_TIMEOUT_MS,
  DEFAULT_RETRIES,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_RETRY_JITTER,
  MAX_RETRIES,
  MAX_RETRY_DELAY_MS,
  MAX_RETRY_JITTER,
  MAX_TIMEOUT_MS,
} from "../defaults.js";
import type { DockerodeClient } from "../engine/client-endpoint.js";
import type { ProgressListener } from "../streams/progress.js";
import {
  functionOption,
  integerOption,
  numberOption,
  objectOption,
  signalOption,
  writableOption,
} from "../validate.js";
import type { RetryOptions } from "./retry.js";

/** Which engine, and cancellation: what every entry point that talks to an engine takes. */
export interface EngineOptions {
  /**
   * Cancels the operation: its requests and streams are destroyed and it rejects with the
   * signal's reason. What it made on the way (a push's temporary tag, a build's files) is still
   * removed.
   */
  readonly signal?: AbortSignal;
  /**
   * The environment to find the engine and the Docker configuration in.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * A dockerode client whose engine to use (only its endpoint is used, never its request code).
   * @default the engine `env` names, as `resolveEngine({ env })` finds it
   */
  readonly docker?: DockerodeClient;
}

/** The options of every engine operation: {@link BuildImageOptions} and {@link PushImageOptions}. */
export interface EngineOperationOptions extends EngineOptions, RetryOptions {
  /**
   * Receives the engine's output as text as it arrives, as Prefect writes it (a build's output,
   * one line per status message of a push), e.g. `process.stdout`. Nothing at all is written
   * anywhere when it is absent. A `write` that throws, or an `error` the stream emits while the
   * operation runs, rejects the operation with that error (never retried).
   * @default undefined
   */
  readonly streamProgressTo?: Writable;
  /**
   * Receives typed progress events. An exception it throws rejects the operation with that error
   * (never retried).
   * @default undefined
   */
  readonly onProgress?: ProgressListener;
  /**
   * Fail when the engine sends nothing for this many milliseconds (a long silent RUN counts as
   * nothing). 0 disables the check.
   * @default 0
   */
  readonly inactivityTimeoutMs?: number;
  /**
   * Registry credentials overriding the Docker configuration: one login, or a map from registry
   * host to login (a build may pull `FROM` images from several registries: give a map, or a login
   * with `serveraddress`).
   * @default the Docker configuration's (`DOCKER_CONFIG` or `~/.docker/config.json`)
   */
  readonly auth?: CredentialOptions["auth"];
  /**
   * How long a credential helper (`docker-credential-*`) may take, in milliseconds, before it is
   * killed and the operation fails with a `CredentialsError` naming it.
   * @default 30000
   */
  readonly credentialHelperTimeoutMs?: number;
}

/** {@link EngineOptions} after {@link normalizeEngineOptions}. */
export interface NormalizedEngineOptions {
  readonly signal: AbortSignal | undefined;
  readonly env: NodeJS.ProcessEnv | undefined;
  readonly docker: DockerodeClient | undefined;
}

/**
 * The part of the normalising pass every entry point that talks to an engine runs (`checkEngine`
 * only this part). `given` is already known to be an object.
 * @throws InvalidArgumentError naming the option and the bad value.
 */
export function normalizeEngineOptions(given: EngineOptions): NormalizedEngineOptions {
  return {
    signal: signalOption("signal", given.signal),
    env: objectOption<NodeJS.ProcessEnv>(
      "env",
      given.env,
      "an environment object such as process.env",
    ),
    docker: objectOption<DockerodeClient>(
      "docker",
      given.docker,
      "a dockerode client such as dockerClient()",
    ),
  };
}

/** {@link EngineOperationOptions} after {@link normalizeOperationOptions}. */
export interface NormalizedOperationOptions extends NormalizedEngineOptions {
  readonly streamProgressTo: Writable | undefined;
  readonly onProgress: ProgressListener | undefined;
  readonly inactivityTimeoutMs: number;
  readonly auth: CredentialOptions["auth"];
  readonly credentialHelperTimeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly retryJitter: number;
}

/**
 * The part of the normalising pass every operation runs. `given` is already known to be an object.
 * @throws InvalidArgumentError naming the option and the bad value.
 */
export function normalizeOperationOptions(
  given: EngineOperationOptions,
): NormalizedOperationOptions {
  if (given.auth !== undefined) checkAuthOption(given.auth);
  return {
    ...normalizeEngineOptions(given),
    streamProgressTo: writableOption<Writable>("streamProgressTo", given.streamProgressTo),
    onProgress: functionOption<ProgressListener>("onProgress", given.onProgress),
    inactivityTimeoutMs: integerOption(
      "inactivityTimeoutMs",
      given.inactivityTimeoutMs,
      DEFAULT_INACTIVITY_TIMEOUT_MS,
      { min: 0, max: MAX_TIMEOUT_MS },
    ),
    auth: given.auth,
    credentialHelperTimeoutMs: integerOption(
      "credentialHelperTimeoutMs",
      given.credentialHelperTimeoutMs,
      DEFAULT_CREDENTIAL_HELPER_TIMEOUT_MS,
      { min: 1, max: MAX_TIMEOUT_MS },
    ),
    retries: integerOption("retries", given.retries, DEFAULT_RETRIES, {
      min: 0,
      max: MAX_RETRIES,
    }),
    retryDelayMs: integerOption("retryDelayMs", given.retryDelayMs, DEFAULT_RETRY_DELAY_MS, {
      min: 0,
      max: MAX_RETRY_DELAY_MS,
    }),
    retryJitter: numberOption("retryJitter", given.retryJitter, DEFAULT_RETRY_JITTER, {
      min: 0,
      max: MAX_RETRY_JITTER,
    }),
  };
}
