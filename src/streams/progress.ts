import type { Writable } from "node:stream";
import { callerError } from "./caller-error.js";
import { type EngineMessage, field, objectField } from "./json-lines.js";

/** A build step started, e.g. `Step 2/4 : RUN echo hi`. */
export interface BuildStepEvent {
  readonly type: "step";
  /** 1-based. */
  readonly step: number;
  readonly totalSteps: number;
  /** E.g. `RUN echo hi`. */
  readonly instruction: string;
}

/** Text the engine printed while building (the `stream` field), unchanged. */
export interface BuildOutputEvent {
  readonly type: "output";
  readonly text: string;
}

/** A pull or push status line, per layer when `id` is set. */
export interface LayerStatusEvent {
  readonly type: "status";
  /** `"pull"` while pulling a base image, `"push"` while pushing. */
  readonly operation: "pull" | "push";
  /** The layer or tag the status is about. */
  readonly id: string | undefined;
  /** E.g. `Preparing`, `Pushing`, `Pushed`, `Layer already exists`. */
  readonly status: string;
  /** The engine's progress bar text. */
  readonly progress: string | undefined;
  /** Bytes done and in all, when the engine reports them. */
  readonly current: number | undefined;
  readonly total: number | undefined;
}

/** The build produced an image. */
export interface ImageIdEvent {
  readonly type: "image-id";
  /** `sha256:` followed by 64 hex digits. */
  readonly imageId: string;
}

/** The registry accepted a pushed manifest. */
export interface PushDigestEvent {
  readonly type: "digest";
  readonly tag: string;
  /** `sha256:` followed by 64 hex digits. */
  readonly digest: string;
  /** The manifest's size in bytes. */
  readonly size: number | undefined;
}

/** A transient failure is about to be retried. */
export interface RetryEvent {
  readonly type: "retry";
  readonly operation: "build" | "push";
  /** 1-based number of the attempt that failed. */
  readonly attempt: number;
  /** Attempts allowed in all (retries + 1). */
  readonly maxAttempts: number;
  readonly delayMs: number;
  /** The error that is being retried. */
  readonly error: Error;
}

/**
 * A BuildKit build step (a "vertex" of the build graph) changed state: `started`, `cached`,
 * `completed` or `error`. `number` is the `#N` that `docker build --progress=plain` prints.
 */
export interface VertexEvent {
  readonly type: "vertex";
  /** The vertex's digest, which names it in `vertex-log` and `vertex-status` events. */
  readonly digest: string;
  /** 1-based number in order of first appearance, as `--progress=plain` numbers steps. */
  readonly number: number;
  /** E.g. `[2/3] RUN echo hi` or `[internal] load build context`. */
  readonly name: string;
  readonly state: "started" | "cached" | "completed" | "error";
  /** The error BuildKit reported, for `state: "error"`. */
  readonly error: string | undefined;
  readonly started: Date | undefined;
  readonly completed: Date | undefined;
}

/** Output of a BuildKit step (a RUN's stdout or stderr), as bytes and as text. */
export interface VertexLogEvent {
  readonly type: "vertex-log";
  readonly digest: string;
  readonly number: number;
  /** 1 for stdout, 2 for stderr. */
  readonly stream: number;
  readonly data: Uint8Array;
  /** `data` decoded as UTF-8. */
  readonly text: string;
}

/** Progress of a sub-task of a BuildKit step, e.g. a layer being pulled or exported. */
export interface VertexStatusEvent {
  readonly type: "vertex-status";
  readonly digest: string;
  readonly number: number;
  /** The sub-task, e.g. `transferring context:`, `sha256:...` of a layer or `exporting layers`. */
  readonly id: string;
  /** The action alone, e.g. `transferring`, shared by several sub-tasks; `id` tells them apart. */
  readonly name: string | undefined;
  /** Units done and in all (bytes for transfers); `total` when known. */
  readonly current: number;
  readonly total: number | undefined;
  readonly completed: boolean;
}

/**
 * BuildKit finished reading a folder of the build through the session (`context`, or
 * `dockerfile` for the Dockerfile's folder). The engine keeps what it read between builds of the
 * same folder, so `files` and `bytes` count only what was new or changed.
 */
export interface ContextSyncEvent {
  readonly type: "context-sync";
  /** The folder's name in the session: `context` or `dockerfile`. */
  readonly dir: string;
  /** Entries listed to the engine (files, folders, links). */
  readonly entries: number;
  /** Files the engine asked for, because they were new or changed, and their bytes. */
  readonly files: number;
  readonly bytes: number;
}

/**
 * A platform of a multi-platform build moved on: `building` (its build's events follow), `built`
 * (with the image ID), `pushing`, then `pushed` (with its manifest's digest and size).
 */
export interface PlatformEvent {
  readonly type: "platform";
  /** E.g. `linux/arm64`. */
  readonly platform: string;
  readonly state: "building" | "built" | "pushing" | "pushed";
  /** The image the engine built for the platform, from `built` on. */
  readonly imageId: string | undefined;
  /** The platform's manifest digest and size in bytes, for `pushed`. */
  readonly digest: string | undefined;
  readonly size: number | undefined;
}

/**
 * A blob (config or layer) of a platform's image on its way to the registry: `exists` (the
 * registry has it), `mounted` (linked from another repository, `from`), `uploading` (with the
 * bytes sent so far), `uploaded`.
 */
export interface BlobEvent {
  readonly type: "blob";
  readonly platform: string;
  readonly kind: "config" | "layer";
  /** `sha256:` and 64 hex digits. */
  readonly digest: string;
  readonly state: "exists" | "mounted" | "uploading" | "uploaded";
  /** Bytes sent so far, and in all. */
  readonly current: number;
  readonly total: number;
  /** The repository a `mounted` blob came from. */
  readonly from: string | undefined;
}

/** The image index of a multi-platform image was put under a tag. */
export interface IndexEvent {
  readonly type: "index";
  /** `<registry>/<repository>:<tag>`. */
  readonly reference: string;
  /** The index digest and size in bytes. */
  readonly digest: string;
  readonly size: number;
  /** Each platform's manifest, in the index's order. */
  readonly manifests: readonly {
    readonly platform: string;
    readonly digest: string;
    readonly size: number;
  }[];
}

/** Everything `onProgress` can receive; switch on `type`. */
export type ProgressEvent =
  | BuildStepEvent
  | BuildOutputEvent
  | LayerStatusEvent
  | ImageIdEvent
  | PushDigestEvent
  | RetryEvent
  | VertexEvent
  | VertexLogEvent
  | VertexStatusEvent
  | ContextSyncEvent
  | PlatformEvent
  | BlobEvent
  | IndexEvent;

/**
 * A callback receiving typed progress events. An exception it throws fails the operation with
 * that very error, never retried.
 */
export type ProgressListener = (event: ProgressEvent) => void;

/** Where a stream reader sends the text (as the docker CLI and Prefect write it) and events. */
export interface ProgressOutputs {
  readonly streamProgressTo?: Writable | undefined;
  readonly onProgress?: ProgressListener | undefined;
}

/** Docker's `Step 1/4 : FROM busybox`, and Podman's (Buildah's) `STEP 1/4: FROM busybox`. */
const STEP = /^(?:Step (\d+)\/(\d+) :|STEP (\d+)\/(\d+):) (.*)$/s;

/** Parses the line the classic builder prints before each step (see {@link STEP}). */
export function parseBuildStep(text: string): BuildStepEvent | undefined {
  const match = STEP.exec(text.trimEnd());
  if (!match) return undefined;
  return {
    type: "step",
    step: Number(match[1] ?? match[3]),
    totalSteps: Number(match[2] ?? match[4]),
    instruction: match[5] ?? "",
  };
}

/** Turns a status message (pull or push) into a {@link LayerStatusEvent}. */
export function layerStatusEvent(
  operation: "pull" | "push",
  message: EngineMessage & { status: string },
): LayerStatusEvent {
  const detail = objectField(message.progressDetail);
  const number = (value: unknown) => (typeof value === "number" ? value : undefined);
  return {
    type: "status",
    operation,
    id: field(message.id),
    status: message.status,
    progress: field(message.progress),
    current: number(detail?.current),
    total: number(detail?.total),
  };
}

/**
 * Writes text to a progress stream as Prefect writes to `stream_progress_to`, without waiting for
 * the reader (neither does Python's `TextIO.write`): backpressure must not stall a build.
 * @throws what `write` throws, marked as the caller's error ({@link callerError}).
 */
export function writeProgress(stream: Writable | undefined, text: string): void {
  if (!stream || stream.destroyed || stream.writableEnded) return;
  try {
    stream.write(text);
  } catch (error) {
    throw callerError(error);
  }
}
