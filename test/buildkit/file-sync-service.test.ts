// FileSync against what an engine sends that grpc-js cannot: the raw UTF-8 and percent-encoded
// patterns of BuildKit's metadata, and values that cannot be read (nothing is sent then). Also the
// folder's own rules, which hold whatever the engine asks.
import { describe, expect, it } from "vitest";
import { fileSyncService, type SyncReport } from "../../src/buildkit/file-sync-service.js";
import {
  Packet,
  Packet_PacketType as PacketType,
} from "../../src/buildkit/generated/github.com/tonistiigi/fsutil/types/wire.js";
import { GrpcStatus } from "../../src/buildkit/session-server.js";
import type { SyncTree } from "../../src/buildkit/sync-tree.js";
import { BuildContextError } from "../../src/errors.js";
import { tempDir, tree } from "../support/files.js";
import { frame, rawSession } from "../support/raw-grpc-client.js";

const DIFF_COPY = "/moby.filesync.v1.FileSync/DiffCopy";
const latin1 = (value: string) => Buffer.from(value, "utf8").toString("latin1");
const send = (type: PacketType, id = 0) =>
  frame(Packet.encode({ type, stat: undefined, ID: id, data: new Uint8Array(0) }).finish());

/**
 * Syncs `dirs` through a real session, playing fsutil's receiver: every listed file is asked
 * for. Resolves to the paths listed and the call's status.
 */
async function sync(
  dirs: ReadonlyMap<string, SyncTree>,
  headers: Record<string, string | string[]>,
  hooks: Parameters<typeof fileSyncService>[1] = {},
) {
  const { call } = await rawSession([fileSyncService(dirs, hooks)]);
  const paths: string[] = [];
  let asked = 0;
  let received = 0;
  const result = await call(DIFF_COPY, headers, [], (message) => {
    const packet = Packet.decode(message);
    if (packet.type === PacketType.PACKET_STAT && packet.stat !== undefined) {
      const index = paths.push(packet.stat.path) - 1;
      if (packet.stat.mode >>> 24 === 0) {
        asked++;
        return send(PacketType.PACKET_REQ, index);
      }
    } else if (packet.type === PacketType.PACKET_STAT && asked === 0) {
      return send(PacketType.PACKET_FIN);
    } else if (packet.type === PacketType.PACKET_DATA && packet.data.length === 0) {
      if (++received === asked) return send(PacketType.PACKET_FIN);
    } else if (packet.type === PacketType.PACKET_FIN) {
      return "end";
    }
    return undefined;
  });
  return { paths, status: result.status, details: result.details };
}

async function secretsContext(): Promise<string> {
  const root = await tempDir();
  await tree(root, {
    Dockerfile: "FROM busybox\n",
    ".env": "TOKEN=1\n",
    "server.pem": "key\n",
    "notes-café.txt": "private\n",
    "keep.txt": "kept\n",
  });
  return root;
}

describe("FileSync", () => {
  it("excludes a non-ASCII pattern sent as raw UTF-8 bytes, as the 20.10 engine sends it", async () => {
    const root = await secretsContext();
    const { paths, status } = await sync(new Map([["context", { root }]]), {
      "dir-name": "context",
      "exclude-patterns": [".env", "*.pem", latin1("notes-café.txt")],
    });
    expect(status).toBe(GrpcStatus.OK);
    expect(paths).toEqual(["Dockerfile", "keep.txt"]);
  });

  it("excludes the same patterns percent-encoded, as newer BuildKit sends them", async () => {
    const root = await secretsContext();
    const { paths } = await sync(new Map([["context", { root }]]), {
      "dir-name": "context",
      "exclude-patterns": [".env", "%2A.pem", "notes-caf%C3%A9.txt"],
      "exclude-patterns-encoded": "1",
    });
    expect(paths).toEqual(["Dockerfile", "keep.txt"]);
  });

  it("sends nothing, and says why, when the patterns cannot be read", async () => {
    const root = await secretsContext();
    const errors: unknown[] = [];
    const { paths, status, details } = await sync(
      new Map([["context", { root }]]),
      { "dir-name": "context", "exclude-patterns": [".env", "\xff.pem"] },
      { onError: (error) => errors.push(error) },
    );
    expect(paths).toEqual([]);
    expect(status).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(details).toMatch(
      /exclude-patterns metadata cannot be read \(a value is not valid UTF-8\)/,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(BuildContextError);
  });

  it("keeps out what the folder's own .dockerignore excludes, whatever the engine asks", async () => {
    const root = await secretsContext();
    await tree(root, { "secrets/a.key": "a", "secrets/public.txt": "p" });
    const own = {
      root,
      ignore: {
        excludes: [".env", "*.pem", "secrets", "!secrets/public.txt"],
        alwaysInclude: ["Dockerfile"],
      },
    };
    const dirs = new Map([["context", own]]);
    // No patterns at all, and patterns that would re-include everything.
    expect((await sync(dirs, { "dir-name": "context" })).paths).toEqual([
      "Dockerfile",
      "keep.txt",
      "notes-café.txt",
      "secrets",
      "secrets/public.txt",
    ]);
    expect(
      (await sync(dirs, { "dir-name": "context", "exclude-patterns": ["keep.txt", "!*", "!**/*"] }))
        .paths,
    ).toEqual(["Dockerfile", "keep.txt", "notes-café.txt", "secrets", "secrets/public.txt"]);
    // The engine can narrow it, its exceptions too.
    expect(
      (
        await sync(dirs, {
          "dir-name": "context",
          "exclude-patterns": ["secrets", "Dockerfile", "!secrets/a.key"],
        })
      ).paths,
    ).toEqual(["keep.txt", "notes-café.txt"]);
  });

  it("sends only the Dockerfile and its ignore file from the Dockerfile's folder", async () => {
    const root = await tempDir();
    await tree(root, {
      "Build.df": "FROM busybox\n",
      "Build.df.dockerignore": "*.log\n",
      id_rsa: "private\n",
      "sub/other.txt": "x\n",
    });
    const dirs = new Map([["dockerfile", { root, only: ["Build.df", "Build.df.dockerignore"] }]]);
    expect((await sync(dirs, { "dir-name": "dockerfile" })).paths).toEqual([
      "Build.df",
      "Build.df.dockerignore",
    ]);
    expect(
      (await sync(dirs, { "dir-name": "dockerfile", "include-patterns": ["*", "sub/**"] })).paths,
    ).toEqual(["Build.df", "Build.df.dockerignore"]);
    expect(
      (await sync(dirs, { "dir-name": "dockerfile", followpaths: ["id_rsa", "Build.df"] })).paths,
    ).toEqual(["Build.df"]);
  });

  it("hands a throw of its report hook to the error hook instead of the process", async () => {
    const root = await secretsContext();
    const errors: unknown[] = [];
    const failure = new Error("listener failed");
    const { status } = await sync(
      new Map([["context", { root }]]),
      { "dir-name": "context" },
      {
        onSynced: (_report: SyncReport) => {
          throw failure;
        },
        onError: (error) => errors.push(error),
      },
    );
    expect(status).toBe(GrpcStatus.OK);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([failure]);
  });
});
