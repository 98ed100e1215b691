/**
 * What the deploy steps take besides their `prefect.yaml` inputs: where output goes, cancellation,
 * the engine, and the clock. Kept apart from the inputs so that those stay plain data (the step
 * cache compares them) and a step's YAML mapping can be passed in unchanged.
 * @module
 */
import type { Writable } from "node:stream";
import { MAX_RETRIES, MAX_RETRY_DELAY_MS, MAX_TIMEOUT_MS } from "../defaults.js";
import type { DockerodeClient } from "../engine/client-endpoint.js";
import { InvalidArgumentError } from "../errors.js";
import type { RetryOptions } from "../operation/retry.js";
import type { ProgressListener } from "../streams/progress.js";
import {
  functionOption,
  integerOption,
  kindOf,
  numberOption,
  optionsObject,
  show,
  signalOption,
  stringOption,
} from "../validate.js";

/** Options of `buildDockerImage` and `pushDockerImage` that are not step inputs. */
export interface StepOptions extends RetryOptions {
  /**
   * Receives the build output and the push status lines as they arrive (prefect-docker always
   * writes to `sys.stdout`, and buffers a push's lines until every tag is pushed); `null` for
   * silence.
   * @default process.stdout
   */
  readonly streamProgressTo?: Writable | null;
  /** Receives typed progress events. @default undefined */
  readonly onProgress?: ProgressListener;
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
  /** A dockerode client whose engine to use (only where it points is used). @default the engine `env` names */
  readonly docker?: DockerodeClient;
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

/** Checks the step options before any I/O and fills in the defaults. */
export function normalizeStepOptions<T extends StepOptions>(
  options: T | undefined,
): T & { readonly env: NodeJS.ProcessEnv; readonly output: Writable | undefined } {
  const checked = optionsObject("options", options);
  const { streamProgressTo, env } = checked;
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
  functionOption("onProgress", checked.onProgress);
  functionOption("now", checked.now);
  signalOption("signal", checked.signal);
  integerOption("inactivityTimeoutMs", checked.inactivityTimeoutMs, 0, {
    min: 0,
    max: MAX_TIMEOUT_MS,
  });
  integerOption("retries", checked.retries, 0, { min: 0, max: MAX_RETRIES });
  numberOption("retryDelayMs", checked.retryDelayMs, 0, { min: 0, max: MAX_RETRY_DELAY_MS });
  numberOption("retryJitter", checked.retryJitter, 0, { min: 0, max: 1 });
  stringOption("baseImage", (checked as BuildStepOptions).baseImage);
  return {
    ...checked,
    env: env ?? process.env,
    output: streamProgressTo === undefined ? process.stdout : (streamProgressTo ?? undefined),
  };
}
