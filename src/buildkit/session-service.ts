/**
 * A service a BuildKit session serves: its generated definition (see src/buildkit/generated/)
 * and a handler per method this library implements; only those are served and announced.
 * @module
 */
import type { CallMetadata } from "./call-metadata.js";
import {
  type CallStatus,
  GrpcStatus,
  type SessionCall,
  type SessionMethod,
} from "./session-server.js";

/** A generated message's encoder and decoder, as far as the session uses them. */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** A method of a generated service definition. */
export interface MethodDefinition<Request, Response> {
  readonly name: string;
  readonly requestType: MessageCodec<Request>;
  readonly requestStream: boolean;
  readonly responseType: MessageCodec<Response>;
}

/** A generated service definition (ts-proto's `generic-definitions`). */
export interface ServiceDefinition {
  readonly fullName: string;
  // biome-ignore lint/suspicious/noExplicitAny: each method has its own message types.
  readonly methods: Readonly<Record<string, MethodDefinition<any, any>>>;
}

type RequestOf<M> = M extends MethodDefinition<infer Request, unknown> ? Request : never;
type ResponseOf<M> = M extends MethodDefinition<unknown, infer Response> ? Response : never;

/** One call as a handler sees it: typed messages in and out. */
export interface ServiceCall<Request, Response> {
  readonly metadata: CallMetadata;
  /** Aborts once the call is over: ended, cancelled by the engine, or the session closed. */
  readonly signal: AbortSignal;
  /** The request of a method whose requests do not stream. */
  readonly request: Request;
  /** The call underneath, for writes of pre-framed messages (see data-frame.ts). */
  readonly raw: SessionCall;
  /** Receives the requests of a method whose requests stream, then the engine's half-close. */
  listen(onRequest: (request: Request) => void, onHalfClose?: () => void): void;
  /** Sends one response; `done` once it is written out. */
  write(response: Response, done?: () => void): void;
  /** Ends the call, OK by default. */
  end(status?: CallStatus): void;
}

/** Handles one call; a throw or a rejected promise ends the call with INTERNAL. */
export type ServiceHandler<Request, Response> = (
  call: ServiceCall<Request, Response>,
) => void | Promise<void>;

/** The handlers of a definition's methods, by the generated (camel-case) method key. */
export type ServiceHandlers<D extends ServiceDefinition> = {
  readonly [K in keyof D["methods"]]?: ServiceHandler<
    RequestOf<D["methods"][K]>,
    ResponseOf<D["methods"][K]>
  >;
};

/** A service ready for the session: the methods served, by path. */
export interface SessionService {
  /** The service's full name, e.g. `moby.filesync.v1.Auth`. */
  readonly name: string;
  readonly methods: readonly SessionMethod[];
}

function failed(call: SessionCall, error: unknown): void {
  call.end({
    code: GrpcStatus.INTERNAL,
    details: error instanceof Error ? error.message : String(error),
  });
}

/** Binds `handlers` to the methods of `definition` they implement. */
export function defineService<D extends ServiceDefinition>(
  definition: D,
  handlers: ServiceHandlers<D>,
): SessionService {
  const methods: SessionMethod[] = [];
  for (const [key, method] of Object.entries(definition.methods)) {
    const handler = (handlers as Record<string, ServiceHandler<unknown, unknown> | undefined>)[key];
    if (handler === undefined) continue;
    methods.push({
      path: `/${definition.fullName}/${method.name}`,
      requestStream: method.requestStream,
      handle: (raw, bytes) => {
        const call: ServiceCall<unknown, unknown> = {
          metadata: raw.metadata,
          signal: raw.signal,
          request: bytes === undefined ? undefined : method.requestType.decode(bytes),
          raw,
          listen: (onRequest, onHalfClose) =>
            raw.listen((message) => {
              let request: unknown;
              try {
                request = method.requestType.decode(message);
              } catch (error) {
                failed(raw, error);
                return;
              }
              onRequest(request);
            }, onHalfClose),
          write: (response, done) => raw.send(method.responseType.encode(response).finish(), done),
          end: (status) => raw.end(status),
        };
        const result = handler(call);
        if (result instanceof Promise) result.catch((error: unknown) => failed(raw, error));
      },
    });
  }
  return { name: definition.fullName, methods };
}
