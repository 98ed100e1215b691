/**
 * Typed progress events reported while building, pulling and pushing images.
 * @module
 */
import type { Writable } from "node:stream";
import { callerError } from "./caller-error.js";
import { type EngineMessage, field, objectField } from "./json-lines.js";

/** A build step started, e.g. `Step 2/4 : RUN echo hi`. */
export interface BuildStepEvent {
  readonly type: "step";
  /** 1-based number of the step. */
  readonly step: number;
  /** Number of steps in the Dockerfile. */
  readonly totalSteps: number;
  /** The instruction, e.g. `RUN echo hi`. */
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
  /** The layer or tag the status is about, if any. */
  readonly id: string | undefined;
  /** E.g. `Preparing`, `Pushing`, `Pushed`, `Layer already exists`. */
  readonly status: string;
  /** The engine's progress bar text, if any. */
  readonly progress: string | undefined;
  /** Bytes done, when the engine reports it. */
  readonly current: number | undefined;
  /** Bytes in all, when the engine reports it. */
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
  /** Size of the manifest in bytes. */
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
  /** Milliseconds until the next attempt. */
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
  /** When the vertex started, if it did. */
  readonly started: Date | undefined;
  /** When the vertex completed, if it did. */
  readonly completed: Date | undefined;
}

/** Output of a BuildKit step (a RUN's stdout or stderr), as bytes and as text. */
export interface VertexLogEvent {
  readonly type: "vertex-log";
  readonly digest: string;
  readonly number: number;
  /** 1 for stdout, 2 for stderr. */
  readonly stream: number;
  /** The bytes as the step wrote them. */
  readonly data: Uint8Array;
  /** The bytes decoded as UTF-8. */
  readonly text: string;
}

/** Progress of a sub-task of a BuildKit step, e.g. a layer being pulled or exported. */
export interface VertexStatusEvent {
  readonly type: "vertex-status";
  readonly digest: string;
  readonly number: number;
  /** The sub-task, e.g. `sha256:...` of a layer or `exporting layers`. */
  readonly id: string;
  /** Its display name, if any. */
  readonly name: string | undefined;
  /** Units done (bytes for transfers). */
  readonly current: number;
  /** Units in all, when known. */
  readonly total: number | undefined;
  /** Whether the sub-task completed. */
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
  /** Files the engine asked for, because they were new or changed. */
  readonly files: number;
  /** Bytes of file content sent. */
  readonly bytes: number;
}

/**
 * A platform of a multi-platform build moved on: `building` (its build's events follow), `built`
 * (with the image ID), `pushing`, then `pushed` (with its manifest's digest and size).
 */
export interface PlatformEvent {
  readonly type: "platform";
  /** The platform, e.g. `linux/arm64`. */
  readonly platform: string;
  readonly state: "building" | "built" | "pushing" | "pushed";
  /** The image the engine built for the platform, from `built` on. */
  readonly imageId: string | undefined;
  /** The platform's manifest digest, for `pushed`. */
  readonly digest: string | undefined;
  /** The manifest's size in bytes, for `pushed`. */
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
  /** Bytes sent so far. */
  readonly current: number;
  /** Bytes in all. */
  readonly total: number;
  /** The repository a `mounted` blob came from. */
  readonly from: string | undefined;
}

/** The image index of a multi-platform image was put under a tag. */
export interface IndexEvent {
  readonly type: "index";
  /** `<registry>/<repository>:<tag>`. */
  readonly reference: string;
  /** The index digest. */
  readonly digest: string;
  /** The index size in bytes. */
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

/** Where a stream reader sends what it reads: the text, and typed events. */
export interface ProgressOutputs {
  /** Receives the output as text, as the docker CLI and Prefect write it. */
  readonly streamProgressTo?: Writable | undefined;
  /** Receives typed progress events. */
  readonly onProgress?: ProgressListener | undefined;
}

/** Docker's `Step 1/4 : FROM busybox`, and Podman's (Buildah's) `STEP 1/4: FROM busybox`. */
const STEP = /^(?:Step (\d+)\/(\d+) :|STEP (\d+)\/(\d+):) (.*)$/s;

/**
 * Parses the `Step N/M : INSTRUCTION` line the classic builder prints before each step (Podman's
 * builder writes `STEP N/M: INSTRUCTION`).
 */
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
 * Writes text to a progress stream the way Prefect's Python code writes to `stream_progress_to`.
 * Python's `TextIO.write` never waits for the reader, so neither does this: backpressure on a
 * progress stream must not stall a build. What `write` throws is rethrown as the caller's error
 * (see `caller-error.ts`): it fails the operation as it is.
 */
export function writeProgress(stream: Writable | undefined, text: string): void {
  if (!stream || stream.destroyed || stream.writableEnded) return;
  try {
    stream.write(text);
  } catch (error) {
    throw callerError(error);
  }
}
