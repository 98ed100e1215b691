/**
 * The deploy steps' options besides their `prefect.yaml` inputs, kept apart so that the inputs
 * stay plain data the step cache can compare.
 * @module
 */
import type { Writable } from "node:stream";
import { InvalidArgumentError } from "../errors.js";
import {
  type EngineOperationOptions,
  type NormalizedOperationOptions,
  normalizeOperationOptions,
} from "../operation/operation-options.js";
import { nowMicroseconds } from "../python/slugify.js";
import { functionOption, kindOf, optionsObject, show, stringOption } from "../validate.js";

/**
 * Options of `buildDockerImage` and `pushDockerImage`: those of every engine operation but the
 * logins, which the push step takes as its `credentials` input.
 */
export interface StepOptions
  extends Omit<
    EngineOperationOptions,
    | "streamProgressTo"
    | "signal"
    | "inactivityTimeoutMs"
    | "env"
    | "auth"
    | "credentialHelperTimeoutMs"
  > {
  /** Receives the build output and push status lines; `null` for silence. @default process.stdout */
  readonly streamProgressTo?: Writable | null;
  /**
   * Ends this call's wait with the signal's reason; a run shared by identical calls is cancelled
   * once all of them have aborted.
   */
  readonly signal?: AbortSignal;
  /**
   * Fail when the engine sends nothing for this many milliseconds; 0 disables. A build step's
   * `timeout` input (docker-py's, in seconds) takes precedence.
   * @default 0
   */
  readonly inactivityTimeoutMs?: number;
  /**
   * Where the default namespace (`PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE`), the engine and the
   * Docker configuration are read from.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** The clock for the default tag, in microseconds since the epoch. @default the system clock */
  readonly now?: () => bigint;
}

/** Options of `buildDockerImage` beyond {@link StepOptions}. */
export interface BuildStepOptions extends StepOptions {
  /** The image `dockerfile: auto` starts `FROM`, e.g. a mirror. @default getPrefectImageName() */
  readonly baseImage?: string;
}

/** {@link BuildStepOptions} after {@link normalizeStepOptions}. */
export interface StepSettings extends NormalizedOperationOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => bigint;
  readonly baseImage: string | undefined;
}

/** The deploy side's `streamProgressTo`: a writable stream, `null` for silence, or stdout. */
export function progressOutput(value: unknown): Writable | null {
  if (value === undefined) return process.stdout;
  if (value === null || typeof (value as Writable).write === "function") {
    return value as Writable | null;
  }
  throw new InvalidArgumentError(
    `streamProgressTo must be a writable stream such as process.stdout, or null, got ${show(value)}`,
  );
}

/** Checks the step options before any I/O and fills in the defaults. */
export function normalizeStepOptions(options: BuildStepOptions | undefined): StepSettings {
  const given = optionsObject("options", options);
  const { env } = given;
  const streamProgressTo = progressOutput(given.streamProgressTo);
  if (env !== undefined && (env === null || typeof env !== "object")) {
    throw new InvalidArgumentError(`env must be an object such as process.env, got ${kindOf(env)}`);
  }
  const {
    auth: _auth,
    credentialHelperTimeoutMs: _timeout,
    ...rest
  } = given as EngineOperationOptions;
  const settings = normalizeOperationOptions({
    ...rest,
    streamProgressTo: streamProgressTo ?? undefined,
  });
  return {
    ...settings,
    env: env ?? process.env,
    now: functionOption<() => bigint>("now", given.now) ?? nowMicroseconds,
    baseImage: stringOption("baseImage", given.baseImage),
  };
}
