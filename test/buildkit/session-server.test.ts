// The session's gRPC server on node:http2, against a raw HTTP/2 client: framing, statuses in the
// trailers (or the headers, for an early failure), limits, and what it does with what it cannot
// read.
import { describe, expect, it } from "vitest";
import {
  BytesMessage,
  SSHDefinition,
} from "../../src/buildkit/generated/github.com/moby/buildkit/session/sshforward/ssh.js";
import { GrpcStatus } from "../../src/buildkit/session-server.js";
import { defineService, type SessionService } from "../../src/buildkit/session-service.js";
import { frame, rawSession } from "../support/raw-grpc-client.js";

/** An echo service on the SSH definition: CheckAgent answers, ForwardAgent echoes. */
function echo(seen: { metadata?: string[] } = {}): SessionService {
  return defineService(SSHDefinition, {
    checkAgent: (call) => {
      seen.metadata = call.metadata.values("x-values");
      if (call.request.ID === "missing") {
        call.end({ code: GrpcStatus.NOT_FOUND, details: "no agent « missing » here" });
        return;
      }
      call.write({});
      call.end();
    },
    forwardAgent: (call) => {
      call.listen(
        (message) => call.write({ data: Buffer.concat([Buffer.from("echo:"), message.data]) }),
        () => call.end(),
      );
    },
  });
}

const bytes = (text: string) => frame(BytesMessage.encode({ data: Buffer.from(text) }).finish());
const text = (message: Buffer) => Buffer.from(BytesMessage.decode(message).data).toString();
const checkAgent = (id: string) =>
  frame(Buffer.concat([Buffer.from([10, id.length]), Buffer.from(id)]));

describe("serveSession", () => {
  it("answers a unary call with one message and OK in the trailers", async () => {
    const { call } = await rawSession([echo()]);
    const result = await call("/moby.sshforward.v1.SSH/CheckAgent", {}, [checkAgent("default")]);
    expect(result).toEqual({ messages: [Buffer.alloc(0)], status: GrpcStatus.OK, details: "" });
  });

  it("puts an early failure's status in the headers, its message percent-encoded", async () => {
    const { call } = await rawSession([echo()]);
    const result = await call("/moby.sshforward.v1.SSH/CheckAgent", {}, [checkAgent("missing")]);
    expect(result).toEqual({
      messages: [],
      status: GrpcStatus.NOT_FOUND,
      details: "no agent « missing » here",
    });
  });

  it("answers UNIMPLEMENTED for a method it does not serve", async () => {
    const { call } = await rawSession([echo()]);
    const result = await call("/moby.filesync.v1.FileSync/DiffCopy", {}, []);
    expect(result.status).toBe(GrpcStatus.UNIMPLEMENTED);
  });

  it("splits streamed requests into messages however they are cut, and answers in order", async () => {
    const { call } = await rawSession([echo()]);
    const all = Buffer.concat(["one", "two", "x".repeat(70_000), ""].map(bytes));
    // Cut at every few bytes: frames split across chunks, several frames in one chunk.
    const pieces: Buffer[] = [];
    for (let at = 0; at < all.length; at += at < 40 ? 3 : 9_000)
      pieces.push(all.subarray(at, at + (at < 40 ? 3 : 9_000)));
    const result = await call("/moby.sshforward.v1.SSH/ForwardAgent", {}, pieces);
    expect(result.status).toBe(GrpcStatus.OK);
    expect(result.messages.map(text)).toEqual([
      "echo:one",
      "echo:two",
      `echo:${"x".repeat(70_000)}`,
      "echo:",
    ]);
  });

  it("reads thousands of header fields, raw UTF-8 and commas included", async () => {
    const seen: { metadata?: string[] } = {};
    const { call } = await rawSession([echo(seen)]);
    const values = Array.from({ length: 3_000 }, (_, index) => `pattern-${index},café`);
    const result = await call(
      "/moby.sshforward.v1.SSH/CheckAgent",
      { "x-values": values.map((value) => Buffer.from(value).toString("latin1")) },
      [checkAgent("default")],
    );
    expect(result.status).toBe(GrpcStatus.OK);
    expect(seen.metadata).toEqual(values);
  });

  it("refuses compressed and oversized messages", async () => {
    const { call } = await rawSession([echo()]);
    const compressed = await call("/moby.sshforward.v1.SSH/ForwardAgent", {}, [
      frame(Buffer.from("x"), true),
    ]);
    expect(compressed).toMatchObject({
      status: GrpcStatus.UNIMPLEMENTED,
      details: "compressed messages are not accepted",
    });
    const header = Buffer.alloc(5);
    header.writeUInt32BE(17 * 1024 * 1024, 1);
    const oversized = await call("/moby.sshforward.v1.SSH/ForwardAgent", {}, [header]);
    expect(oversized.status).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  });

  it("reports a header block too big for nghttp2 to read as a connection error", async () => {
    const { call, errors } = await rawSession([echo()]);
    // 200 fields of 2 KiB of random text (HPACK cannot shrink it): more than 9 frames of 16 KiB.
    const values = Array.from({ length: 200 }, (_, index) =>
      Buffer.from(
        Array.from({ length: 2048 }, (_, at) => 33 + ((index * 7919 + at * 104729) % 94)),
      ).toString(),
    );
    await expect(
      call("/moby.sshforward.v1.SSH/CheckAgent", { "x-values": values }, [checkAgent("default")]),
    ).rejects.toThrow();
    expect(errors.map((error) => error.message).join("\n")).toMatch(/CONTINUATION/);
  });
});
