/**
 * Building an image with BuildKit through the Engine API, with a session this library serves.
 * @module
 */
import type { IncomingMessage } from "node:http";
import path from "node:path";
import { resolveRegistryAuth } from "../auth/credentials.js";
import { buildAuthOption, type RegistryAuth } from "../auth/registry-auth.js";
import type { BuildContextOverlay } from "../build-context/build-context.js";
import { createDebug } from "../debug-logger.js";
import { buildQuery } from "../engine/build-query.js";
import type { EngineConnection } from "../engine/engine-connection.js";
import {
  BuildContextError,
  BuildError,
  CredentialsError,
  DockerfileNotFoundError,
  EngineHttpError,
  InvalidArgumentError,
} from "../errors.js";
import { crypto } from "../lazy-builtins.js";
import { type Attempt, readResponse, runAttempts } from "../operation/attempt.js";
import type { NormalizedBuildImageOptions } from "../operation/build-image-options.js";
import { isTransientError } from "../operation/retry.js";
import { authService } from "./auth-service.js";
import { BuildKitSession } from "./buildkit-session.js";
import { BuildKitStream, explainBuildKitError } from "./buildkit-stream.js";
import { assertBuildKitSupport, assertShmSizeSupport, pingEngine } from "./buildkit-support.js";
import { fileSyncService } from "./file-sync-service.js";
import { readSecrets, secretsService } from "./secrets-service.js";
import { sessionSharedKey } from "./shared-key.js";
import { resolveSshAgents, sshService } from "./ssh-service.js";
import { syncDirs } from "./sync-dirs.js";

const debug = createDebug("prefect-dockerutils:buildkit");

/** BuildKit failures that a retry cannot fix, whatever else their text says. */
const PERMANENT_BUILDKIT = [
  "executor failed running",
  "did not complete successfully",
  "failed to compute cache key",
  "failed to read dockerfile",
  "network bridge not found",
  "not supported by buildkit",
  "no ssh key",
  "unset ssh forward key",
  "error from sender",
];

/** Whether a BuildKit failure is worth another attempt. */
export function isTransientBuildKitError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (
    error instanceof InvalidArgumentError ||
    error instanceof BuildContextError ||
    error instanceof DockerfileNotFoundError
  ) {
    return false;
  }
  const text = error.message.toLowerCase();
  // BuildKit's own race under load in a COPY of many sources (moby/buildkit#1822), also when it
  // comes as an "executor failed running [copy ...]".
  if (text.includes("flightcontrol: exceeded retry timeout")) return true;
  if (PERMANENT_BUILDKIT.some((pattern) => text.includes(pattern))) return false;
  if (/secret .* not found/.test(text)) return false;
  return isTransientError(error);
}

/**
 * Builds `context` with BuildKit on `engine` and resolves to the image ID. The session is closed
 * on every path; transient failures are retried, a failed RUN or a missing secret never.
 *
 * @param engine - a connection the caller has pinged.
 * @param context - the context folder (checked by the caller).
 * @param overlays - host files laid over the context (ImageBuilder's copies).
 */
export async function buildWithBuildKit(
  engine: EngineConnection,
  context: string,
  options: NormalizedBuildImageOptions,
  overlays: readonly BuildContextOverlay[],
): Promise<string> {
  const env = options.env ?? process.env;
  // A single login applies to one registry in a build, which may pull from several.
  const auth = buildAuthOption(options.auth);
  const agents = resolveSshAgents(options.ssh, env);
  const { signal } = options;
  signal?.throwIfAborted();
  const ping = await pingEngine(engine, signal);
  assertBuildKitSupport(ping, engine.endpoint.url);
  assertShmSizeSupport(options.shmSize, ping.apiVersion);
  const secrets = await readSecrets(options.secrets, env);

  const { dirs, contextDir, dockerfileName } = syncDirs(context, options.dockerfile, overlays);
  const sharedKey = sessionSharedKey(contextDir, env);
  const credentials = new Map<string, Promise<RegistryAuth | undefined>>();
  // The engine asks host by host while it resolves images. A credential helper gets the
  // attempt's signal and the caller's timeout, as on the classic path.
  const lookup = (host: string, lookupSignal: AbortSignal) => {
    const cached = credentials.get(host);
    if (cached !== undefined) return cached;
    // As a URL, so that a host without a dot (`myregistry:5000`) is not read as an image name.
    const looked = resolveRegistryAuth(`https://${host}`, {
      ...options,
      auth,
      signal: lookupSignal,
    });
    // The engine asks again and again after a failure: within the attempt, it gets the same
    // answer at once; a lookup the attempt's end cut short is asked again by the next one.
    looked.catch(() => {
      if (lookupSignal.aborted && credentials.get(host) === looked) credentials.delete(host);
    });
    credentials.set(host, looked);
    return looked;
  };

  const buildOnce = async (attempt: Attempt): Promise<string> => {
    const stream = new BuildKitStream(options, (error) => attempt.fail(error));
    const session = new BuildKitSession({
      name: path.basename(contextDir),
      sharedKey,
      // nghttp2 fails the whole connection on a header block it will not read (more than 8
      // CONTINUATION frames, some thousands of patterns): say so rather than "no active session".
      onError: (error) => {
        if (!/CONTINUATION/.test(error.message)) return;
        localFailure ??= new BuildContextError(
          `the engine's file-sync request is too large to read (${error.message}): a .dockerignore or a COPY of several thousand entries; use fewer patterns, or builder: "classic"`,
          contextDir,
          { cause: error },
        );
      },
    });
    const buildId = crypto().randomBytes(32).toString("hex");
    debug("BuildKit build %s, session %s", buildId, session.id);
    let requested: Promise<IncomingMessage> | undefined;
    let started: Promise<void> = Promise.resolve();
    /** A failure on this side (an unreadable file, a credential helper) that explains the build's. */
    let localFailure: unknown;
    let succeeded = false;
    try {
      const services = [
        authService(
          (host) => lookup(host, attempt.signal),
          (error) => {
            if (error instanceof CredentialsError || error instanceof InvalidArgumentError) {
              localFailure ??= error;
            }
          },
        ),
        secretsService(secrets),
        fileSyncService(dirs, {
          onActivity: () => attempt.touch(),
          onSynced: ({ dir, entries, files, bytes }) => {
            try {
              options.onProgress?.({ type: "context-sync", dir, entries, files, bytes });
            } catch (error) {
              // A listener that throws ends the build with its error, as for every other event.
              attempt.fail(error);
            }
          },
          onError: (error) => {
            if (error instanceof BuildContextError) localFailure ??= error;
          },
          signal: attempt.signal,
        }),
      ];
      if (agents.size > 0) services.push(sshService(agents));
      // The session opens first, as the docker CLI's does, and the build request goes out while
      // it does: the engine finds the session the build names as soon as it looks for it.
      started = session.start(engine, services, attempt.signal).catch((error: unknown) => {
        attempt.fail(
          new BuildError(`Could not open the BuildKit session: ${(error as Error).message}`, {
            cause: error,
          }),
        );
      });
      requested = engine.request({
        method: "POST",
        path: "/build",
        query: {
          version: "2",
          session: session.id,
          // No body: the context travels through the session.
          remote: "client-session",
          buildid: buildId,
          ...buildQuery(options, dockerfileName),
        },
        signal: attempt.signal,
      });
      requested.catch(() => undefined);
      const response = await requested;
      await readResponse(response, attempt, (line) => stream.handle(line));
      // The last redraw, while a failure of the progress stream can still fail the build.
      stream.flush();
      attempt.checkStreams();
      attempt.signal.throwIfAborted();
      succeeded = true;
    } catch (error) {
      if (attempt.signal.aborted) {
        if (requested !== undefined) cancelBuild(engine, buildId);
        throw attempt.reason;
      }
      if (error instanceof BuildError) {
        throw localFailure === undefined || error.cause !== undefined
          ? error
          : new BuildError(error.message, {
              statusCode: error.statusCode,
              step: error.step,
              logTail: error.logTail,
              cause: localFailure,
            });
      }
      if (error instanceof EngineHttpError) {
        const message = explainBuildKitError(error.message);
        const details = { statusCode: error.statusCode, cause: error };
        throw stream.error(message, details);
      }
      throw error;
    } finally {
      // A request still under way, or a response never read, must not hold its connection.
      if (!succeeded) attempt.fail(new Error("the BuildKit build ended"));
      void requested?.then(
        (response) => response.destroy(),
        () => undefined,
      );
      stream.flush();
      session.close();
      await started;
    }
    const imageId = stream.imageId;
    if (!imageId) throw stream.error("The Docker daemon did not return an image ID");
    return imageId;
  };

  return runAttempts(
    options,
    {
      operation: "build",
      what: `BuildKit build of ${contextDir}`,
      debug,
      isTransient: isTransientBuildKitError,
    },
    buildOnce,
  );
}

/** Stops a build whose request was cut at once, as the CLI does; best effort, in the background. */
function cancelBuild(engine: EngineConnection, buildId: string): void {
  engine
    .request({
      method: "POST",
      path: "/build/cancel",
      query: { id: buildId },
      signal: AbortSignal.timeout(5_000),
    })
    .then(
      (response) => response.resume(),
      (error: unknown) => debug("cancelling build %s: %s", buildId, (error as Error).message),
    );
}
