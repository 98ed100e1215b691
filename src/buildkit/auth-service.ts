/**
 * `moby.filesync.v1.Auth`: registry credentials, asked for by the engine host by host while it
 * resolves and pulls images (`FROM`, `--cache-from`).
 * @module
 */
import { createDebug } from "../debug-logger.js";
import { AuthDefinition } from "./generated/github.com/moby/buildkit/session/auth/auth.js";
import { GrpcStatus } from "./session-server.js";
import { defineService, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

const unimplemented = (call: { end(status: { code: number; details: string }): void }) =>
  call.end({ code: GrpcStatus.UNIMPLEMENTED, details: "not implemented by this client" });

/** A login as the engine's Auth service hands it out. */
export interface SessionCredentials {
  /** Empty for an identity token. */
  readonly username: string;
  /** The password, or the identity token. */
  readonly secret: string;
}

/**
 * Finds the login for one registry host (`host[:port]`, e.g. `127.0.0.1:5556` or
 * `registry-1.docker.io`), or `undefined` when there is none. It must never answer with another
 * host's login.
 */
export type CredentialsLookup = (host: string) => Promise<SessionCredentials | undefined>;

/**
 * The Auth service. `onError` hears about lookups that failed (the engine only sees a status).
 * The token methods are announced but answer UNIMPLEMENTED: the engine then fetches tokens
 * itself with the login `Credentials` gives.
 */
export function authService(
  lookup: CredentialsLookup,
  onError: (error: unknown) => void,
): SessionService {
  return defineService(AuthDefinition, {
    credentials: async (call) => {
      const host = call.request.Host;
      let login: SessionCredentials | undefined;
      try {
        login = await lookup(host);
      } catch (error) {
        onError(error);
        call.end({
          code: GrpcStatus.UNAVAILABLE,
          details: `cannot read the credentials for ${host}: ${error instanceof Error ? error.message : String(error)}`,
        });
        return;
      }
      debug("session credentials for %s: %s", host, login ? "found" : "none");
      call.write({ Username: login?.username ?? "", Secret: login?.secret ?? "" });
      call.end();
    },
    fetchToken: unimplemented,
    getTokenAuthority: unimplemented,
    verifyTokenAuthority: unimplemented,
  });
}
