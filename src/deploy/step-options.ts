/**
 * What the deploy steps take besides their `prefect.yaml` inputs: where output goes, cancellation,
 * the engine, and the clock. Kept apart from the inputs so that those stay plain data (the step
 * cache compares them) and a step's YAML mapping can be passed in unchanged.
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
 * Options of `buildDockerImage` and `pushDockerImage` that are not step inputs: those of every
 * engine operation but the logins, which the push step takes as its `credentials` input.
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
  /**
   * Receives the build output and the push status lines as they arrive (prefect-docker always
   * writes to `sys.stdout`, and buffers a push's lines until every tag is pushed); `null` for
   * silence.
   * @default process.stdout
   */
  readonly streamProgressTo?: Writable | null;
  /**
   * Ends this call's wait, which rejects with the signal's reason. When identical calls share a
   * run under way, the run itself is cancelled only once every one of them has aborted; the step
   * cache keeps nothing of a cancelled run.
   */
  readonly signal?: AbortSignal;
  /**
   * Fail when the engine sends nothing for this many milliseconds; 0 disables. A build step's
   * `timeout` input (docker-py's, in seconds) takes precedence.
   * @default 0
   */
  readonly inactivityTimeoutMs?: number;
  /**
   * The environment to read `PREFECT_DEFAULT_DOCKER_BUILD_NAMESPACE` (or
   * `PREFECT_DEPLOYMENTS_DEFAULT_DOCKER_BUILD_NAMESPACE`, which wins), the engine's location and
   * the Docker configuration from.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** The clock for the default tag, in microseconds since the epoch. @default the system clock */
  readonly now?: () => bigint;
}

/** Options of `buildDockerImage` beyond {@link StepOptions}. */
export interface BuildStepOptions extends StepOptions {
  /**
   * The image the `dockerfile: auto` Dockerfile starts `FROM` (part of the step cache's key).
   * Prefect always uses its own image; change it to build from a mirror or a pinned image.
   * @default getPrefectImageName()
   */
  readonly baseImage?: string;
}

/** {@link BuildStepOptions} after {@link normalizeStepOptions}. */
export interface StepSettings extends NormalizedOperationOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => bigint;
  readonly baseImage: string | undefined;
}

/** Checks the step options before any I/O and fills in the defaults. */
export function normalizeStepOptions(options: BuildStepOptions | undefined): StepSettings {
  const given = optionsObject("options", options);
  const { streamProgressTo, env } = given;
  if (
    streamProgressTo !== undefined &&
    streamProgressTo !== null &&
    typeof (streamProgressTo as Writable).write !== "function"
  ) {
    throw new InvalidArgumentError(
      `streamProgressTo must be a writable stream such as process.stdout, or null, got ${show(streamProgressTo)}`,
    );
  }
  if (env !== undefined && (env === null || typeof env !== "object")) {
    throw new InvalidArgumentError(`env must be an object such as process.env, got ${kindOf(env)}`);
  }
  // The push step's logins are its `credentials` input: `auth` here is not one of its options.
  const {
    auth: _auth,
    credentialHelperTimeoutMs: _timeout,
    ...rest
  } = given as EngineOperationOptions;
  const settings = normalizeOperationOptions({
    ...rest,
    streamProgressTo:
      streamProgressTo === undefined ? process.stdout : (streamProgressTo ?? undefined),
  });
  return {
    ...settings,
    env: env ?? process.env,
    now: functionOption<() => bigint>("now", given.now) ?? nowMicroseconds,
    baseImage: stringOption("baseImage", given.baseImage),
  };
}
