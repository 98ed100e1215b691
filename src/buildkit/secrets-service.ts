/**
 * `moby.buildkit.secrets.v1.Secrets`: the values of `RUN --mount=type=secret,id=...`.
 * @module
 */
import { createDebug } from "../debug-logger.js";
import { SecretsDefinition } from "./generated/github.com/moby/buildkit/session/secrets/secrets.js";
import { GrpcStatus } from "./session-server.js";
import { defineService, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

/**
 * The Secrets service. An unknown ID answers NOT_FOUND, as the docker CLI's does, so a
 * `required` secret fails with BuildKit's own `secret <id> not found` and an optional one is
 * left out of the RUN.
 */
export function secretsService(secrets: ReadonlyMap<string, Uint8Array>): SessionService {
  return defineService(SecretsDefinition, {
    getSecret: (call) => {
      const id = call.request.ID;
      const value = secrets.get(id);
      // The ID only: a secret's value never reaches a log.
      debug("session secret %j: %s", id, value ? "served" : "not found");
      if (value === undefined) {
        call.end({ code: GrpcStatus.NOT_FOUND, details: "not found" });
        return;
      }
      call.write({ data: value });
      call.end();
    },
  });
}
