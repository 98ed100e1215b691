/**
 * `grpc.health.v1.Health`: the engine checks the session with `Check` every second and drops it
 * at the first failure, so a session without this service dies about a second into the build.
 * @module
 */
import {
  HealthCheckResponse_ServingStatus,
  HealthDefinition,
} from "./generated/grpc/health/v1/health.js";
import { defineService, type SessionService } from "./session-service.js";

const SERVING = { status: HealthCheckResponse_ServingStatus.SERVING };

/** The health service: always serving while the session is open. */
export function healthService(): SessionService {
  return defineService(HealthDefinition, {
    check: (call) => {
      call.write(SERVING);
      call.end();
    },
    // Answers once and stays open, as a server whose state never changes does.
    watch: (call) => call.write(SERVING),
  });
}
