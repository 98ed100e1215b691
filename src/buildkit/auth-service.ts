/**
 * `moby.filesync.v1.Auth`: registry credentials, asked for host by host while the engine pulls.
 * @module
 */
import { createDebug } from "../debug-logger.js";
import { AuthDefinition } from "./generated/github.com/moby/buildkit/session/auth/auth.js";
import { GrpcStatus } from "./session-server.js";
import { defineService, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

const unimplemented = (call: { end(status: { code: number; details: string }): void }) =>
  call.end({ code: GrpcStatus.UNIMPLEMENTED, details: "not implemented by this client" });

/** A login as the Auth service hands it out: an empty `username` with an identity token. */
export interface SessionCredentials {
  readonly username: string;
  /** The password, or the identity token. */
  readonly secret: string;
}

/**
 * The login for one registry host (`host[:port]`), or `undefined`; never another host's login.
 */
export type CredentialsLookup = (host: string) => Promise<SessionCredentials | undefined>;

/**
 * The Auth service; `onError` hears about failed lookups (the engine only sees a status). The
 * token methods answer UNIMPLEMENTED, so the engine fetches tokens itself with the login.
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
