/**
 * A gRPC client on node:http2 for the session's tests, for what grpc-js refuses to send but an
 * engine does: header values that are raw UTF-8 bytes, thousands of header fields, a header
 * block too big to read, a compressed or oversized message. It speaks to the real session server
 * (serveSession) on a unix socket; messages are framed as gRPC frames them (a flag byte, a 32-bit
 * length).
 */
import http2 from "node:http2";
import { connect, createServer } from "node:net";
import path from "node:path";
import { onTestFinished } from "vitest";
import { type SessionServer, serveSession } from "../../src/buildkit/session-server.js";
import type { SessionService } from "../../src/buildkit/session-service.js";
import { tempDir } from "./files.js";

/** What one call got back. */
export interface CallResult {
  /** The response messages, unframed. */
  readonly messages: Buffer[];
  /** `grpc-status` (from the trailers, or the headers of a trailers-only answer). */
  readonly status: number;
  /** `grpc-message`, percent-decoded. */
  readonly details: string;
}

/** Frames one message as gRPC does. */
export function frame(message: Uint8Array, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** A raw client connected to a session serving `services`; `errors` collects the server's. */
export async function rawSession(services: SessionService[]) {
  const dir = await tempDir("pdu-bk-raw-");
  const socketPath = path.join(dir, "session.sock");
  const servers: SessionServer[] = [];
  const errors: Error[] = [];
  const listener = createServer((socket) =>
    servers.push(
      serveSession(
        socket,
        services.flatMap((service) => service.methods),
        { onError: (error) => errors.push(error) },
      ),
    ),
  );
  await new Promise<void>((resolve) => listener.listen(socketPath, resolve));
  const client = http2.connect("http://session", {
    createConnection: () => connect(socketPath),
    maxSendHeaderBlockLength: 64 * 1024 * 1024,
    maxHeaderListPairs: 1_000_000,
    settings: { maxHeaderListSize: 64 * 1024 * 1024 },
  });
  client.on("error", () => undefined);
  await new Promise((resolve) => client.once("remoteSettings", resolve));
  onTestFinished(() => {
    client.destroy();
    for (const server of servers) server.close();
    listener.close();
  });

  /**
   * Calls `method` with `headers` (each value a Latin-1 string of the bytes to send; an array
   * sends one header field per value, as gRPC-Go does) and `body` (already framed). `onMessage`
   * may answer with more frames (a bidi call); the request side ends when it returns `end`.
   */
  const call = (
    method: string,
    headers: Readonly<Record<string, string | readonly string[]>>,
    body: Buffer[],
    onMessage?: (message: Buffer) => Buffer | "end" | undefined,
  ): Promise<CallResult> =>
    new Promise((resolve, reject) => {
      const request = client.request(
        {
          ":method": "POST",
          ":path": method,
          "content-type": "application/grpc",
          te: "trailers",
          ...(headers as http2.OutgoingHttpHeaders),
        },
        { endStream: false },
      );
      const messages: Buffer[] = [];
      let status: number | undefined;
      let details = "";
      let pending = Buffer.alloc(0);
      const take = (fields: http2.IncomingHttpHeaders) => {
        if (fields["grpc-status"] !== undefined) {
          status = Number(fields["grpc-status"]);
          // The call is over: stop sending, as gRPC clients do.
          if (!request.writableEnded) request.end();
        }
        if (typeof fields["grpc-message"] === "string") {
          details = decodeURIComponent(fields["grpc-message"]);
        }
      };
      request.on("response", take);
      request.on("trailers", take);
      request.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
          const message = pending.subarray(5, 5 + pending.readUInt32BE(1));
          pending = pending.subarray(5 + message.length);
          messages.push(message);
          const answer = onMessage?.(message);
          if (answer === "end") request.end();
          else if (answer !== undefined) request.write(answer);
        }
      });
      request.on("error", reject);
      request.on("close", () =>
        status === undefined
          ? reject(new Error(`no grpc-status (HTTP/2 code ${request.rstCode})`))
          : resolve({ messages, status, details }),
      );
      for (const part of body) request.write(part);
      if (onMessage === undefined) request.end();
    });

  return { call, errors, client };
}
