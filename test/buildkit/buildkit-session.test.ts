// The services of a BuildKit session, called over a real gRPC connection: grpc-js's client (an
// independent gRPC implementation, as the engine's gRPC-Go is) on a unix socket, served exactly
// as the session serves the engine's connection. Also the checks that run before a BuildKit build.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { authService } from "../../src/buildkit/auth-service.js";
import { isTransientBuildKitError } from "../../src/buildkit/build-with-buildkit.js";
import { healthService } from "../../src/buildkit/buildkit-session.js";
import {
  assertBuildKitSupport,
  assertShmSizeSupport,
} from "../../src/buildkit/buildkit-support.js";
import { fileSyncService, type SyncReport } from "../../src/buildkit/file-sync-service.js";
import {
  CredentialsRequest,
  CredentialsResponse,
} from "../../src/buildkit/generated/github.com/moby/buildkit/session/auth/auth.js";
import {
  GetSecretRequest,
  GetSecretResponse,
} from "../../src/buildkit/generated/github.com/moby/buildkit/session/secrets/secrets.js";
import {
  BytesMessage,
  CheckAgentRequest,
} from "../../src/buildkit/generated/github.com/moby/buildkit/session/sshforward/ssh.js";
import {
  Packet,
  Packet_PacketType as PacketType,
} from "../../src/buildkit/generated/github.com/tonistiigi/fsutil/types/wire.js";
import { readSecrets, secretsService } from "../../src/buildkit/secrets-service.js";
import { type SessionServer, serveSession } from "../../src/buildkit/session-server.js";
import type { SessionService } from "../../src/buildkit/session-service.js";
import { buildNodeId, sessionSharedKey } from "../../src/buildkit/shared-key.js";
import { resolveSshAgents, sshService } from "../../src/buildkit/ssh-service.js";
import { BuildContextError, BuildError, InvalidArgumentError } from "../../src/errors.js";
import { MAX_SECRET_BYTES, validateSecrets } from "../../src/operation/build-image-options.js";
import { tempDir, tree } from "../support/files.js";

/** Serves `services` on a unix socket as the session does, and a client connected to it. */
async function serve(services: SessionService[]): Promise<grpc.Client> {
  const dir = await tempDir("pdu-bk-grpc-");
  const socketPath = path.join(dir, "session.sock");
  const sessions: SessionServer[] = [];
  const listener: NetServer = createServer((socket) =>
    sessions.push(
      serveSession(
        socket,
        services.flatMap((service) => service.methods),
      ),
    ),
  );
  await new Promise<void>((resolve) => listener.listen(socketPath, resolve));
  const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  onTestFinished(() => {
    client.close();
    for (const session of sessions) session.close();
    listener.close();
  });
  return client;
}

const identity = (value: Buffer) => value;

function unary(client: grpc.Client, method: string, request: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(method, identity, identity, Buffer.from(request), (error, response) =>
      error ? reject(error) : resolve(response as Buffer),
    ),
  );
}

const checkAgent = (id: string) => CheckAgentRequest.encode({ ID: id }).finish();
const credentials = (host: string) => CredentialsRequest.encode({ Host: host }).finish();

describe("session services over gRPC", () => {
  it("answers health checks with SERVING", async () => {
    const client = await serve([healthService()]);
    const answer = await unary(client, "/grpc.health.v1.Health/Check", new Uint8Array(0));
    expect([...answer]).toEqual([8, 1]);
  });

  it("keeps the health stream open, answering SERVING once", async () => {
    const client = await serve([healthService()]);
    const call = client.makeServerStreamRequest(
      "/grpc.health.v1.Health/Watch",
      identity,
      identity,
      Buffer.alloc(0),
    );
    const ended = new Promise((resolve) => call.on("error", resolve));
    const first = await new Promise<Buffer>((resolve) => call.once("data", resolve));
    expect([...first]).toEqual([8, 1]);
    call.cancel();
    expect(await ended).toMatchObject({ code: grpc.status.CANCELLED });
  });

  it("hands each registry host its own login and no other host's", async () => {
    const logins: Record<string, { username: string; password: string }> = {
      "127.0.0.1:5556": { username: "pdu-user", password: "p+a/s=s\"w'ö€rd?" },
    };
    const asked: string[] = [];
    const client = await serve([
      authService(
        async (host) => {
          asked.push(host);
          return logins[host];
        },
        () => undefined,
      ),
    ]);
    const mine = await unary(
      client,
      "/moby.filesync.v1.Auth/Credentials",
      credentials("127.0.0.1:5556"),
    );
    expect(CredentialsResponse.decode(mine)).toEqual({
      Username: "pdu-user",
      Secret: "p+a/s=s\"w'ö€rd?",
    });
    const other = await unary(client, "/moby.filesync.v1.Auth/Credentials", credentials("ghcr.io"));
    expect(other.length).toBe(0);
    expect(asked).toEqual(["127.0.0.1:5556", "ghcr.io"]);
    await expect(
      unary(client, "/moby.filesync.v1.Auth/FetchToken", credentials("ghcr.io")),
    ).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it("hands out an identity token with an empty user name, as the docker CLI does", async () => {
    const client = await serve([
      authService(
        async () => ({ username: "<token>", password: "", identitytoken: "id-token" }),
        () => undefined,
      ),
    ]);
    const answer = await unary(client, "/moby.filesync.v1.Auth/Credentials", credentials("acr.io"));
    expect(CredentialsResponse.decode(answer)).toEqual({ Username: "", Secret: "id-token" });
  });

  it("answers UNAVAILABLE, and reports the error, when a credential lookup fails", async () => {
    const errors: unknown[] = [];
    const client = await serve([
      authService(
        async () => {
          throw new Error("docker-credential-broken failed");
        },
        (error) => errors.push(error),
      ),
    ]);
    await expect(
      unary(client, "/moby.filesync.v1.Auth/Credentials", credentials("ghcr.io")),
    ).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: "cannot read the credentials for ghcr.io: docker-credential-broken failed",
    });
    expect(errors).toHaveLength(1);
  });

  it("serves secrets by ID and answers NOT_FOUND for any other", async () => {
    const client = await serve([secretsService(new Map([["npmrc", Buffer.from("token=1")]]))]);
    const request = (id: string) => GetSecretRequest.encode({ ID: id, annotations: {} }).finish();
    const answer = await unary(
      client,
      "/moby.buildkit.secrets.v1.Secrets/GetSecret",
      request("npmrc"),
    );
    expect(Buffer.from(GetSecretResponse.decode(answer).data).toString()).toBe("token=1");
    await expect(
      unary(client, "/moby.buildkit.secrets.v1.Secrets/GetSecret", request("other")),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: "not found" });
  });

  it("answers UNIMPLEMENTED for a method it does not serve", async () => {
    const client = await serve([healthService()]);
    await expect(
      unary(client, "/moby.filesync.v1.FileSync/TarStream", new Uint8Array(0)),
    ).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });
});

describe("FileSync over gRPC", () => {
  /**
   * Plays the engine's side of DiffCopy: reads the STATs, asks for every file, collects the
   * DATA, then sends FIN, as fsutil's receiver does.
   */
  async function receive(client: grpc.Client, metadata: Record<string, string[]>) {
    const md = new grpc.Metadata();
    for (const [key, values] of Object.entries(metadata))
      for (const value of values) md.add(key, value);
    const call = client.makeBidiStreamRequest(
      "/moby.filesync.v1.FileSync/DiffCopy",
      (packet: Packet) => Buffer.from(Packet.encode(packet).finish()),
      (bytes: Buffer) => Packet.decode(bytes),
      md,
    );
    const send = (type: PacketType, id = 0) =>
      call.write({ type, stat: undefined, ID: id, data: new Uint8Array(0) });
    const paths: string[] = [];
    const contents = new Map<number, Buffer[]>();
    let asked = 0;
    let finished = 0;
    await new Promise<void>((resolve, reject) => {
      call.on("data", (packet: Packet) => {
        if (packet.type === PacketType.PACKET_STAT && packet.stat) {
          const index = paths.push(packet.stat.path) - 1;
          if (packet.stat.mode >>> 24 === 0) {
            asked++;
            send(PacketType.PACKET_REQ, index);
          }
        } else if (packet.type === PacketType.PACKET_STAT && asked === 0) {
          send(PacketType.PACKET_FIN);
        } else if (packet.type === PacketType.PACKET_DATA) {
          if (packet.data.length) {
            contents.set(packet.ID, [...(contents.get(packet.ID) ?? []), Buffer.from(packet.data)]);
          } else if (++finished === asked) {
            send(PacketType.PACKET_FIN);
          }
        } else if (packet.type === PacketType.PACKET_FIN) {
          call.end();
        }
      });
      call.on("error", reject);
      call.on("end", resolve);
    });
    return new Map(
      paths.map((path, index) => [path, Buffer.concat(contents.get(index) ?? []).toString()]),
    );
  }

  it("sends the folder the engine names, framing the packets itself, and reports what it sent", async () => {
    const root = await tempDir();
    await tree(root, {
      "a.txt": "alpha",
      "dir/b.txt": "b".repeat(300_000),
      "skip.log": "no",
    });
    const reports: SyncReport[] = [];
    const client = await serve([
      fileSyncService(new Map([["context", { root }]]), {
        onSynced: (report) => reports.push(report),
      }),
    ]);
    const received = await receive(client, {
      "dir-name": ["context"],
      "exclude-patterns": ["*.log"],
    });
    expect([...received.keys()]).toEqual(["a.txt", "dir", "dir/b.txt"]);
    expect(received.get("a.txt")).toBe("alpha");
    expect(received.get("dir/b.txt")).toBe("b".repeat(300_000));
    expect(reports).toEqual([{ dir: "context", entries: 3, files: 2, bytes: 300_005 }]);
  });

  it("reads patterns sent as repeated headers as the list they are, commas and all", async () => {
    const root = await tempDir();
    await tree(root, {
      Dockerfile: "FROM x",
      "Dockerfile.dockerignore": "",
      "other.txt": "",
      "a,b": "",
      a: "",
      "x.{key,pem}": "",
    });
    const client = await serve([
      fileSyncService(
        new Map([
          ["dockerfile", { root }],
          ["context", { root }],
        ]),
      ),
    ]);
    const followed = await receive(client, {
      "dir-name": ["dockerfile"],
      followpaths: ["Dockerfile", "Dockerfile.dockerignore", "dockerfile"],
    });
    expect([...followed.keys()]).toEqual(["Dockerfile", "Dockerfile.dockerignore"]);
    const excluded = await receive(client, {
      "dir-name": ["context"],
      "exclude-patterns": ["a,b", "x.{key,pem}", "Dockerfile*"],
    });
    expect([...excluded.keys()]).toEqual(["a", "other.txt"]);
  });

  it("answers NOT_FOUND for a folder it was not given", async () => {
    const client = await serve([fileSyncService(new Map())]);
    await expect(receive(client, { "dir-name": ["../etc"] })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });
});

describe("SSH forwarding", () => {
  let agent: ChildProcess;
  let socket: string;
  const env = () => ({ ...process.env, SSH_AUTH_SOCK: socket });

  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "pdu-bk-agent-"));
    socket = path.join(dir, "agent.sock");
    agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    for (let tries = 0; tries < 100; tries++) {
      try {
        execFileSync("ssh-add", ["-l"], { env: env(), stdio: "ignore" });
      } catch (error) {
        // Exit status 1 is "no identities": the agent is up.
        if ((error as { status?: number }).status === 1) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    execFileSync("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      "pdu-unit-key",
      "-f",
      path.join(dir, "key"),
    ]);
    execFileSync("ssh-add", [path.join(dir, "key")], { env: env(), stdio: "ignore" });
  });
  afterAll(async () => {
    agent.kill();
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends agent requests through ForwardAgent and resolves to the answers' message types. */
  async function converse(client: grpc.Client, id: string, requests: Buffer[]): Promise<number[]> {
    const metadata = new grpc.Metadata();
    metadata.set("buildkit.ssh.id", id);
    const call = client.makeBidiStreamRequest(
      "/moby.sshforward.v1.SSH/ForwardAgent",
      (chunk: Buffer) => Buffer.from(BytesMessage.encode({ data: chunk }).finish()),
      (bytes: Buffer) => Buffer.from(BytesMessage.decode(bytes).data),
      metadata,
    );
    const answers: number[] = [];
    let pending = Buffer.alloc(0);
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
          answers.push(pending[4] ?? -1);
          pending = pending.subarray(4 + pending.readUInt32BE(0));
        }
        if (answers.length === requests.length) call.end();
      });
      call.on("error", reject);
      call.on("end", resolve);
    });
    for (const request of requests) call.write(request);
    await done;
    return answers;
  }

  it("lets a build list and use the agent's keys but never remove or add any", async () => {
    const agents = resolveSshAgents({ default: true }, env());
    expect(agents.get("default")).toBe(socket);
    const client = await serve([sshService(agents)]);
    await unary(client, "/moby.sshforward.v1.SSH/CheckAgent", checkAgent("default"));
    const requestIdentities = Buffer.from([0, 0, 0, 1, 11]);
    const removeAll = Buffer.from([0, 0, 0, 1, 19]);
    const lock = Buffer.from([0, 0, 0, 5, 22, 0, 0, 0, 0]);
    // 12 = IDENTITIES_ANSWER, 5 = FAILURE.
    expect(
      await converse(client, "default", [requestIdentities, removeAll, lock, requestIdentities]),
    ).toEqual([12, 5, 5, 12]);
    expect(execFileSync("ssh-add", ["-l"], { env: env() }).toString()).toContain("pdu-unit-key");
  });

  it("refuses unknown agent IDs as the docker CLI does", async () => {
    const client = await serve([sshService(new Map([["default", socket]]))]);
    await expect(
      unary(client, "/moby.sshforward.v1.SSH/CheckAgent", checkAgent("github")),
    ).rejects.toMatchObject({ details: "unset ssh forward key github" });
    await expect(converse(client, "github", [Buffer.from([0, 0, 0, 1, 11])])).rejects.toMatchObject(
      { details: "unset ssh forward key github" },
    );
  });

  it("checks the ssh option before the build", async () => {
    expect(() => resolveSshAgents({ default: true }, {})).toThrow(/SSH_AUTH_SOCK is not set/);
    expect(() => resolveSshAgents({ default: "/nonexistent/agent.sock" }, {})).toThrow(
      /does not exist/,
    );
    const dir = await tempDir();
    writeFileSync(path.join(dir, "file"), "");
    expect(() => resolveSshAgents({ default: path.join(dir, "file") }, {})).toThrow(
      /is not a socket/,
    );
    expect(() => resolveSshAgents({ "": true }, env())).toThrow(InvalidArgumentError);
  });
});

describe("secrets", () => {
  it("reads values, files and variables, and names the ID but never the value on failure", async () => {
    const dir = await tempDir();
    await tree(dir, { token: "from-file" });
    const values = await readSecrets(
      validateSecrets({
        a: { value: "plain" },
        b: { value: new Uint8Array([1, 2]) },
        c: { file: path.join(dir, "token") },
        d: { env: "PDU_SECRET" },
      }),
      { PDU_SECRET: "from-env" },
    );
    expect(
      Object.fromEntries([...values].map(([id, v]) => [id, Buffer.from(v).toString("hex")])),
    ).toEqual({
      a: Buffer.from("plain").toString("hex"),
      b: "0102",
      c: Buffer.from("from-file").toString("hex"),
      d: Buffer.from("from-env").toString("hex"),
    });
    await expect(readSecrets({ d: { env: "PDU_UNSET" } }, {})).rejects.toThrow(
      'secrets["d"].env names PDU_UNSET, which is not set in the environment',
    );
    await expect(readSecrets({ c: { file: path.join(dir, "nope") } }, {})).rejects.toThrow(
      /secrets\["c"\]\.file .* cannot be read/,
    );
    mkdirSync(path.join(dir, "folder"));
    await expect(readSecrets({ c: { file: path.join(dir, "folder") } }, {})).rejects.toThrow(
      "is not a regular file",
    );
    execFileSync("mkfifo", [path.join(dir, "fifo")]);
    await expect(readSecrets({ c: { file: path.join(dir, "fifo") } }, {})).rejects.toThrow(
      "is not a regular file",
    );
    writeFileSync(path.join(dir, "huge"), Buffer.alloc(MAX_SECRET_BYTES + 1));
    await expect(readSecrets({ c: { file: path.join(dir, "huge") } }, {})).rejects.toThrow(
      /BuildKit takes secrets of at most 512000 bytes/,
    );
  });

  it.each([
    [{ x: {} }, 'secrets["x"] must have exactly one of value, file or env, got none'],
    [{ x: { value: "a", env: "B" } }, "got value and env"],
    [{ x: { value: 1 } }, 'secrets["x"].value must be a string or a Uint8Array'],
    [{ x: { file: "" } }, 'secrets["x"].file must be a non-empty path'],
    [{ x: { env: "A=B" } }, 'secrets["x"].env must be the name of an environment variable'],
    [{ x: { path: "/a" } }, 'unknown field "path"'],
    [{ "a,b": { value: "v" } }, "is not a usable secret ID"],
    [{ x: { value: "v".repeat(MAX_SECRET_BYTES + 1) } }, "BuildKit takes secrets of at most"],
  ])("rejects %j", (secrets, message) => {
    expect(() => validateSecrets(secrets)).toThrow(message);
  });
});

describe("before a BuildKit build", () => {
  it("refuses engines that cannot build with BuildKit, naming what is missing", () => {
    expect(() =>
      assertBuildKitSupport(
        { apiVersion: "1.38", builderVersion: undefined, osType: "linux", podman: false },
        "unix:///x",
      ),
    ).toThrow(/speaks API 1.38, older than the 1.39 BuildKit needs/);
    expect(() =>
      assertBuildKitSupport(
        { apiVersion: "1.41", builderVersion: "1", osType: "windows", podman: false },
        "npipe:///x",
      ),
    ).toThrow(BuildError);
    // 20.10 builds with BuildKit on request without announcing it.
    assertBuildKitSupport(
      { apiVersion: "1.41", builderVersion: undefined, osType: "linux", podman: false },
      "x",
    );
    assertBuildKitSupport(
      { apiVersion: "1.43", builderVersion: "2", osType: "linux", podman: false },
      "x",
    );
  });

  it("refuses shmSize where the engine's BuildKit would ignore it", () => {
    expect(() => assertShmSizeSupport(64 * 1024 * 1024, "1.41")).toThrow(
      /shmSize is ignored by the BuildKit of this engine \(API 1\.41/,
    );
    assertShmSizeSupport(64 * 1024 * 1024, "1.42");
    assertShmSizeSupport(undefined, "1.41");
    assertShmSizeSupport(0, "1.41");
  });

  it("keeps the shared key of a folder stable, and apart from other folders'", async () => {
    const config = await tempDir();
    const env = { DOCKER_CONFIG: config };
    const key = sessionSharedKey("/srv/app", env);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(sessionSharedKey("/srv/app/", env)).toBe(key);
    expect(sessionSharedKey("/srv/other", env)).not.toBe(key);
    // With the CLI's node identity, the CLI and this library share the engine's copy.
    writeFileSync(path.join(config, ".buildNodeID"), "ab".repeat(32));
    expect(buildNodeId(env)).toBe("ab".repeat(32));
    expect(sessionSharedKey("/srv/app", env)).not.toBe(key);
  });

  it.each([
    ["executor failed running [/bin/sh -c curl x || echo connection reset]: exit code: 1", false],
    ["no active session for 3b2c: context deadline exceeded", true],
    ["secret npmrc not found: not found", false],
    [
      "failed to solve with frontend dockerfile.v0: failed to create LLB definition: pulling from host 127.0.0.1:5556 failed with status code [manifests 1]: 401 Unauthorized",
      false,
    ],
    ["failed to solve: unexpected status: 503 Service Unavailable", true],
    ["executor failed running [/bin/sh -c echo x]: network bridge not found", false],
    // moby/buildkit#1822: a COPY of many sources under load, on the engine's side.
    ["flightcontrol: exceeded retry timeout", true],
    ["executor failed running [copy /src-0/a /b]: flightcontrol: exceeded retry timeout", true],
  ])("retries %j: %s", (message, transient) => {
    expect(isTransientBuildKitError(new BuildError(message))).toBe(transient);
  });

  it("never retries what the client decided", () => {
    expect(isTransientBuildKitError(new BuildContextError("connection reset", "/x"))).toBe(false);
    expect(isTransientBuildKitError(new InvalidArgumentError("503 Service Unavailable"))).toBe(
      false,
    );
  });
});
