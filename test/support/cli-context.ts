/**
 * Captures the build context the Docker CLI (`/usr/bin/docker`, classic builder) sends, byte for
 * byte, by pointing it at a stand-in engine on a unix socket that answers `/_ping` and records the
 * body of `POST /build`. No engine is involved: the tar is the CLI's own, to compare ours with.
 * @module
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

/** What the CLI sent: the tar and the `dockerfile` query parameter. */
export interface CliContext {
  readonly tar: Buffer;
  readonly dockerfile: string | null;
}

/** Runs `docker build [-f dockerfile] dir` against the stand-in and returns the context it sent. */
export async function cliContext(dir: string, dockerfile?: string): Promise<CliContext> {
  const socketDir = await mkdtemp(path.join(tmpdir(), "pdu-cli-"));
  const socket = path.join(socketDir, "engine.sock");
  let captured: CliContext | undefined;
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://engine");
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      response.setHeader("Api-Version", "1.41");
      response.setHeader("Content-Type", "application/json");
      if (url.pathname.endsWith("/build")) {
        captured = { tar: Buffer.concat(chunks), dockerfile: url.searchParams.get("dockerfile") };
        response.end('{"stream":"Successfully built 0123456789ab\\n"}\n');
      } else if (url.pathname.endsWith("/_ping")) {
        response.end("OK");
      } else {
        response.end("{}");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  try {
    const args = ["build", "-q", ...(dockerfile === undefined ? [] : ["-f", dockerfile]), dir];
    await new Promise<void>((resolve, reject) => {
      execFile(
        "/usr/bin/docker",
        args,
        {
          env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: socketDir,
            DOCKER_HOST: `unix://${socket}`,
            DOCKER_BUILDKIT: "0",
          },
        },
        (error, _stdout, stderr) =>
          error ? reject(new Error(`docker build failed: ${stderr}`, { cause: error })) : resolve(),
      );
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(socketDir, { recursive: true, force: true });
  }
  if (captured === undefined) throw new Error("the docker CLI sent no build context");
  return captured;
}
