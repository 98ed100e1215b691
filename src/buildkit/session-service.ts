/**
 * The shape of a service a BuildKit session serves, and the loading of `@grpc/grpc-js`, which
 * happens at the first BuildKit build only.
 * @module
 */
import type * as Grpc from "@grpc/grpc-js";

/** The `@grpc/grpc-js` module. */
export type GrpcModule = (typeof Grpc)["default"];

/** One service: its methods (with their codecs) and their handlers, ready for `addService`. */
export interface SessionService {
  /** The service's full name, e.g. `moby.filesync.v1.Auth`. */
  readonly name: string;
  readonly definition: Grpc.ServiceDefinition;
  readonly implementation: Grpc.UntypedServiceImplementation;
  /** A server interceptor the service needs (it must pass other services' calls through). */
  readonly interceptor?: Grpc.ServerInterceptor | undefined;
}

/** The kinds of gRPC method a session serves. */
export type MethodKind = "unary" | "server-stream" | "bidi";

/** A method of a {@link SessionService}: its kind and codecs. */
export interface MethodSpec<Request, Response> {
  readonly kind: MethodKind;
  readonly decode: (bytes: Buffer) => Request;
  readonly encode: (response: Response) => Buffer;
}

/** Builds the grpc-js definition of a service from its methods' codecs. */
export function defineService(
  name: string,
  // biome-ignore lint/suspicious/noExplicitAny: each method has its own request and response types.
  methods: Readonly<Record<string, MethodSpec<any, any>>>,
  implementation: Grpc.UntypedServiceImplementation,
  interceptor?: Grpc.ServerInterceptor,
): SessionService {
  const definition: Record<string, Grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [method, spec] of Object.entries(methods)) {
    definition[method] = {
      path: `/${name}/${method}`,
      requestStream: spec.kind === "bidi",
      responseStream: spec.kind !== "unary",
      requestSerialize: () => {
        throw new TypeError("a session never sends requests");
      },
      requestDeserialize: spec.decode,
      responseSerialize: spec.encode,
      responseDeserialize: () => {
        throw new TypeError("a session never reads responses");
      },
      originalName: method,
    };
  }
  return { name, definition, implementation, interceptor };
}

/** The gRPC paths a service serves, which the session announces to the engine. */
export function methodPaths(service: SessionService): string[] {
  return Object.values(service.definition).map((method) => method.path);
}

let loading: Promise<GrpcModule> | undefined;

/** Loads `@grpc/grpc-js` at first use (it costs about 60 ms, which no other operation should pay). */
export function loadGrpc(): Promise<GrpcModule> {
  // grpc-js is CommonJS marked `__esModule`: Node gives its exports as the default export,
  // bundlers and loaders that honour the marker as the namespace itself.
  loading ??= import("@grpc/grpc-js").then(
    (module) => (module.default as GrpcModule | undefined) ?? (module as unknown as GrpcModule),
  );
  return loading;
}
