/**
 * `moby.filesync.v1.FileSync`: the engine reads the context and the Dockerfile's folder through
 * `DiffCopy`, naming the folder and its patterns in the call's metadata. Metadata that cannot be
 * read sends nothing (fail closed): an exclude list read wrong would send what `.dockerignore`
 * keeps out.
 * @module
 */
import { createDebug } from "../debug-logger.js";
import { type DiffCopyStats, type PacketChannel, sendDiffCopy } from "./diff-copy.js";
import { FileSyncDefinition } from "./generated/github.com/moby/buildkit/session/filesync/filesync.js";
import { GrpcStatus } from "./session-server.js";
import { defineService, type SessionService } from "./session-service.js";
import { type SyncFilter, type SyncTree, walkSyncTree } from "./sync-tree.js";

const debug = createDebug("prefect-dockerutils:buildkit");

/** What a finished transfer of folder `dir` (`context` or `dockerfile`) reports. */
export interface SyncReport extends DiffCopyStats {
  readonly dir: string;
}

/** Options of {@link fileSyncService}. */
export interface FileSyncHooks {
  /** Called on every packet, e.g. to keep an inactivity timer alive. */
  readonly onActivity?: (() => void) | undefined;
  /** Hears about each finished transfer. */
  readonly onSynced?: ((report: SyncReport) => void) | undefined;
  /** Hears about transfers that failed on this side, and about the other hooks' throws. */
  readonly onError?: ((error: unknown) => void) | undefined;
  /** Stops every transfer. */
  readonly signal?: AbortSignal | undefined;
}

/** The FileSync service for the folders in `dirs`, by the names the engine asks for. */
export function fileSyncService(
  dirs: ReadonlyMap<string, SyncTree>,
  hooks: FileSyncHooks = {},
): SessionService {
  const report = (error: unknown) => {
    try {
      hooks.onError?.(error);
    } catch (thrown) {
      debug("file sync: the error hook threw: %s", (thrown as Error).message);
    }
  };
  return defineService(FileSyncDefinition, {
    diffCopy: (call) => {
      let dir: string;
      let filter: SyncFilter;
      try {
        const { metadata } = call;
        dir = metadata.first("dir-name") ?? "";
        filter = {
          excludes: metadata.values("exclude-patterns"),
          includes: metadata.values("include-patterns"),
          followPaths: metadata.values("followpaths"),
        };
      } catch (error) {
        debug("sync refused: %s", (error as Error).message);
        report(error);
        call.end({ code: GrpcStatus.INVALID_ARGUMENT, details: (error as Error).message });
        return;
      }
      const tree = dirs.get(dir);
      if (tree === undefined) {
        call.end({
          code: GrpcStatus.NOT_FOUND,
          details: `no access allowed to dir ${JSON.stringify(dir)}`,
        });
        return;
      }
      debug(
        "sync %s: include %j, exclude %j, follow %j",
        dir,
        filter.includes,
        filter.excludes,
        filter.followPaths,
      );
      const { raw } = call;
      const channel: PacketChannel = {
        send: (packet, done) => raw.send(packet, done),
        sendFrame: (frame, done) => raw.sendFramed(frame, done),
        end: () => raw.end(),
        listen: (onPacket, onHalfClose) => call.listen(onPacket, onHalfClose),
        signal: raw.signal,
      };
      sendDiffCopy(channel, walkSyncTree(tree, filter), {
        onActivity: hooks.onActivity,
        signal: hooks.signal,
      }).then(
        (stats) => {
          debug(
            "sync %s: %d entries, %d files, %d bytes",
            dir,
            stats.entries,
            stats.files,
            stats.bytes,
          );
          try {
            hooks.onSynced?.({ dir, ...stats });
          } catch (error) {
            report(error);
          }
        },
        (error: unknown) => {
          debug("sync %s failed: %s", dir, (error as Error).message);
          report(error);
        },
      );
    },
  });
}
