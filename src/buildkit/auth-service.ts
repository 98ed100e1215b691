/**
 * `moby.filesync.v1.Auth`: registry credentials, asked for host by host while the engine pulls.
 * @module
 */
import type { RegistryAuth } from "../auth/registry-auth.js";
import { createDebug } from "../debug-logger.js";
import { AuthDefinition } from "./generated/github.com/moby/buildkit/session/auth/auth.js";
import { GrpcStatus } from "./session-server.js";
import { defineService, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

const unimplemented = (call: { end(status: { code: number; details: string }): void }) =>
  call.end({ code: GrpcStatus.UNIMPLEMENTED, details: "not implemented by this client" });

/** The login for one registry host (`host[:port]`), or `undefined`; never another host's login. */
export type CredentialsLookup = (host: string) => Promise<RegistryAuth | undefined>;

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
      let login: RegistryAuth | undefined;
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
      const secret = login?.identitytoken || login?.password || "";
      debug("session credentials for %s: %s", host, secret || login?.username ? "found" : "none");
      // An identity token goes with an empty user name, as the docker CLI sends it.
      call.write({ Username: login?.identitytoken ? "" : (login?.username ?? ""), Secret: secret });
      call.end();
    },
    fetchToken: unimplemented,
    getTokenAuthority: unimplemented,
    verifyTokenAuthority: unimplemented,
  });
}
