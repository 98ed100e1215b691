/**
 * `moby.filesync.v1.FileSync`: the engine reads the build context and the Dockerfile's folder
 * through `DiffCopy`, naming the folder (`dir-name`) and what it wants from it
 * (`include-patterns`, `exclude-patterns`, `followpaths`) in the call's metadata, as it does
 * with the docker CLI.
 * @module
 */

import type { Writable } from "node:stream";
import type {
  Metadata,
  ServerDuplexStream,
  ServerInterceptingCallInterface,
  ServerInterceptor,
} from "@grpc/grpc-js";
import { createDebug } from "../debug-logger.js";
import { type DiffCopyStats, FRAME_HEADER, type PacketChannel, sendDiffCopy } from "./diff-copy.js";
import type { Messages, Packet } from "./messages.js";
import { defineService, type GrpcModule, type SessionService } from "./session-service.js";
import { type SyncTree, walkSyncTree } from "./sync-tree.js";

const debug = createDebug("prefect-dockerutils:buildkit");

/** What a finished transfer reports. */
export interface SyncReport extends DiffCopyStats {
  /** The folder's name in the session: `context` or `dockerfile`. */
  readonly dir: string;
  /** Whether packets went straight to the HTTP/2 stream (see {@link packetChannel}). */
  readonly direct: boolean;
}

/** Options of {@link fileSyncService}. */
export interface FileSyncHooks {
  /** Called on every packet, e.g. to keep an inactivity timer alive. */
  readonly onActivity?: (() => void) | undefined;
  /** Hears about each finished transfer. */
  readonly onSynced?: ((report: SyncReport) => void) | undefined;
  /** Hears about transfers that failed on this side (an unreadable file, ...). */
  readonly onError?: ((error: unknown) => void) | undefined;
  /** Stops every transfer. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * The values of a metadata key. The engine sends one header per value; Node's HTTP/2 joins
 * repeated headers with ", ", so they are split again here (as grpc-js does for binary keys). A
 * pattern holding ", " itself cannot survive that, whatever the client.
 */
function metadataValues(call: ServerDuplexStream<unknown, unknown>, key: string): string[] {
  return call.metadata
    .get(key)
    .flatMap((value) => value.toString().split(","))
    .map((value) => value.trim())
    .filter((value) => value !== "");
}

const DIFF_COPY = "/moby.filesync.v1.FileSync/DiffCopy";

/** The parts of grpc-js's base server call that the fast path uses (present since 1.10). */
interface BaseCall {
  readonly stream?: Writable & { readonly destroyed: boolean };
}

/**
 * A DiffCopy call as a {@link PacketChannel}. grpc-js's call stream writes one message per turn
 * of the event loop (each waits for the previous one to reach the socket) and copies each into
 * a new buffer: for the 60,000 packets of a 20,000-file context, 60,000 writes, and as many
 * wake-ups of the engine; for 1 GiB of content, 1 GiB of copies and garbage. So packets are
 * framed here (gRPC's 5-byte header, then the packet) and written straight to the call's HTTP/2
 * stream, the one grpc-js itself writes to, after the response headers grpc-js sends: the
 * packets of one turn leave in one write, and file content is never copied. When the stream
 * cannot be reached (another grpc-js), packets go through grpc-js's `sendMessage` instead.
 */
function packetChannel(
  call: ServerDuplexStream<Packet, Packet | Buffer>,
  raw: ServerInterceptingCallInterface | undefined,
  grpc: GrpcModule,
  messages: Messages,
): PacketChannel & { readonly direct: boolean } {
  const channel = call as unknown as PacketChannel & { direct: boolean };
  channel.direct = false;
  const stream = (raw as BaseCall | undefined)?.stream;
  if (raw !== undefined && stream !== undefined && typeof stream.write === "function") {
    raw.sendMetadata(new grpc.Metadata());
    channel.send = (packet, done) => {
      let frame: Buffer;
      if (Buffer.isBuffer(packet)) {
        frame = packet;
      } else {
        const body = messages.encodePacket(packet);
        frame = Buffer.allocUnsafe(FRAME_HEADER + body.length);
        body.copy(frame, FRAME_HEADER);
      }
      frame[0] = 0;
      frame.writeUInt32BE(frame.length - FRAME_HEADER, 1);
      if (stream.destroyed) return;
      stream.write(frame, () => done());
    };
    channel.direct = true;
    return channel;
  }
  channel.send = raw
    ? (packet, done) =>
        raw.sendMessage(Buffer.isBuffer(packet) ? packet.subarray(FRAME_HEADER) : packet, done)
    : (packet, done) => {
        call.write(Buffer.isBuffer(packet) ? packet.subarray(FRAME_HEADER) : packet, () => done());
      };
  return channel;
}

/** The FileSync service for the folders in `dirs`, by the names the engine asks for. */
export function fileSyncService(
  grpc: GrpcModule,
  messages: Messages,
  dirs: ReadonlyMap<string, SyncTree>,
  hooks: FileSyncHooks = {},
): SessionService {
  const rawCalls = new WeakMap<Metadata, ServerInterceptingCallInterface>();
  const interceptor: ServerInterceptor = (method, call) => {
    if (method.path !== DIFF_COPY) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            // The handler's call carries this same Metadata object: the key back to `call`.
            rawCalls.set(metadata, call);
            nextMetadata(metadata);
          },
        }),
    });
  };
  return defineService(
    "moby.filesync.v1.FileSync",
    {
      DiffCopy: {
        kind: "bidi",
        decode: messages.decodePacket,
        // Content packets arrive encoded already (see diff-copy.ts).
        encode: (packet: Packet | Buffer) =>
          Buffer.isBuffer(packet) ? packet : messages.encodePacket(packet),
      },
    },
    {
      DiffCopy: (call: ServerDuplexStream<Packet, Packet | Buffer>) => {
        const dir = metadataValues(call, "dir-name")[0] ?? "";
        const tree = dirs.get(dir);
        if (tree === undefined) {
          call.emit("error", {
            code: grpc.status.NOT_FOUND,
            details: `no access allowed to dir ${JSON.stringify(dir)}`,
          });
          return;
        }
        const excludes = metadataValues(call, "exclude-patterns");
        const includePatterns = metadataValues(call, "include-patterns");
        const followPaths = metadataValues(call, "followpaths");
        debug(
          "sync %s: include %j, exclude %j, follow %j",
          dir,
          includePatterns,
          excludes,
          followPaths,
        );
        const entries = walkSyncTree(tree, { excludes, includes: includePatterns, followPaths });
        const channel = packetChannel(call, rawCalls.get(call.metadata), grpc, messages);
        sendDiffCopy(channel, entries, {
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
            hooks.onSynced?.({ dir, ...stats, direct: channel.direct });
          },
          (error: unknown) => {
            debug("sync %s failed: %s", dir, (error as Error).message);
            hooks.onError?.(error);
          },
        );
      },
    },
    interceptor,
  );
}
