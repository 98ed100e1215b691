/**
 * `moby.buildkit.secrets.v1.Secrets`: the values of `RUN --mount=type=secret,id=...`.
 * @module
 */
import type { ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { createDebug } from "../debug-logger.js";
import type { Messages } from "./messages.js";
import { defineService, type GrpcModule, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

/**
 * The Secrets service. An unknown ID answers NOT_FOUND, as the docker CLI's does, so a
 * `required` secret fails with BuildKit's own `secret <id> not found` and an optional one is
 * left out of the RUN.
 */
export function secretsService(
  grpc: GrpcModule,
  messages: Messages,
  secrets: ReadonlyMap<string, Uint8Array>,
): SessionService {
  return defineService(
    "moby.buildkit.secrets.v1.Secrets",
    {
      GetSecret: {
        kind: "unary",
        decode: messages.decodeFirstString,
        encode: messages.encodeBytes,
      },
    },
    {
      GetSecret: (
        call: ServerUnaryCall<{ value: string }, Uint8Array>,
        callback: sendUnaryData<Uint8Array>,
      ) => {
        const id = call.request.value;
        const value = secrets.get(id);
        // The ID only: a secret's value never reaches a log.
        debug("session secret %j: %s", id, value ? "served" : "not found");
        if (value === undefined) {
          callback({ code: grpc.status.NOT_FOUND, details: "not found" });
        } else {
          callback(null, value);
        }
      },
    },
  );
}
