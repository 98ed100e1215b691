/**
 * `moby.filesync.v1.Auth`: registry credentials, asked for by the engine host by host while it
 * resolves and pulls images (`FROM`, `--cache-from`).
 * @module
 */
import type { ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { createDebug } from "../debug-logger.js";
import type { Messages } from "./messages.js";
import { defineService, type GrpcModule, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

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

/** The Auth service. `onError` hears about lookups that failed (the engine only sees a status). */
export function authService(
  grpc: GrpcModule,
  messages: Messages,
  lookup: CredentialsLookup,
  onError: (error: unknown) => void,
): SessionService {
  const hostRequest = { kind: "unary", decode: messages.decodeFirstString } as const;
  const unimplemented = (_call: unknown, callback: sendUnaryData<never>) =>
    // The engine then fetches tokens itself with the Credentials answer.
    callback({ code: grpc.status.UNIMPLEMENTED, details: "not implemented by this client" });
  return defineService(
    "moby.filesync.v1.Auth",
    {
      Credentials: {
        ...hostRequest,
        encode: (login: SessionCredentials | undefined) =>
          login ? messages.encodeCredentials(login.username, login.secret) : messages.encodeEmpty(),
      },
      FetchToken: { ...hostRequest, decode: messages.decodeNothing, encode: messages.encodeEmpty },
      GetTokenAuthority: { ...hostRequest, encode: messages.encodeEmpty },
      VerifyTokenAuthority: { ...hostRequest, encode: messages.encodeEmpty },
    },
    {
      Credentials: (
        call: ServerUnaryCall<{ value: string }, SessionCredentials | undefined>,
        callback: sendUnaryData<SessionCredentials | undefined>,
      ) => {
        const host = call.request.value;
        lookup(host).then(
          (login) => {
            debug("session credentials for %s: %s", host, login ? "found" : "none");
            callback(null, login);
          },
          (error: unknown) => {
            onError(error);
            callback({
              code: grpc.status.UNAVAILABLE,
              details: `cannot read the credentials for ${host}: ${error instanceof Error ? error.message : String(error)}`,
            });
          },
        );
      },
      FetchToken: unimplemented,
      GetTokenAuthority: unimplemented,
      VerifyTokenAuthority: unimplemented,
    },
  );
}
