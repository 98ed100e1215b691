/**
 * `grpc.health.v1.Health`: the engine checks the session with `Check` every second and drops it
 * at the first failure, so a session without this service dies about a second into the build.
 * @module
 */
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import type { Messages } from "./messages.js";
import { defineService, type SessionService } from "./session-service.js";

/** `HealthCheckResponse.ServingStatus.SERVING`. */
const SERVING = 1;

/** The health service: always serving while the session is open. */
export function healthService(messages: Messages): SessionService {
  const decode = messages.decodeNothing;
  const encode = messages.encodeHealth;
  return defineService(
    "grpc.health.v1.Health",
    { Check: { kind: "unary", decode, encode }, Watch: { kind: "server-stream", decode, encode } },
    {
      Check: (_call: ServerUnaryCall<unknown, number>, callback: sendUnaryData<number>) =>
        callback(null, SERVING),
      // Answers once and stays open, as a server whose state never changes does.
      Watch: (call: ServerWritableStream<unknown, number>) => {
        call.write(SERVING);
        call.on("cancelled", () => call.end());
      },
    },
  );
}
