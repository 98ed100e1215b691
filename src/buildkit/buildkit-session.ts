/**
 * A BuildKit session: the gRPC server this library runs on a connection the engine opens back to
 * it (`POST /session`, upgraded to h2c and hijacked). Through it the engine reads the build
 * context, secrets, SSH agents and registry credentials while the build runs.
 * @module
 */
import { createDebug } from "../debug-logger.js";
import type { EngineConnection } from "../engine/engine-connection.js";
import { InvalidStateError } from "../errors.js";
import { crypto } from "../lazy-builtins.js";
import {
  HealthCheckResponse_ServingStatus,
  HealthDefinition,
} from "./generated/grpc/health/v1/health.js";
import { type SessionServer, serveSession } from "./session-server.js";
import { defineService, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

const SERVING = { status: HealthCheckResponse_ServingStatus.SERVING };

/**
 * `grpc.health.v1.Health`, always serving. The engine checks it every second and drops the
 * session at the first failure, so every session serves it.
 */
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

/** Options of {@link BuildKitSession}. */
export interface BuildKitSessionOptions {
  /** Shown by the engine, e.g. the context folder's base name (the CLI's choice). */
  readonly name: string;
  /** The key under which the engine keeps what it synced, so a rebuild sends only changes. */
  readonly sharedKey: string;
  /** Hears about failures of the connection itself, which no call reports. */
  readonly onError?: ((error: Error) => void) | undefined;
}

/** What the engine accepts in a header value; anything else is replaced. */
const HEADER_UNSAFE = /[^\x20-\x7e]/g;

/** One session: its `id` goes in the build request; `close()` it on every path. */
export class BuildKitSession {
  /** The session's ID, for the build's `session` parameter. */
  readonly id = crypto().randomUUID();
  readonly #options: BuildKitSessionOptions;
  #server: SessionServer | undefined;
  #closed = false;
  #started = false;

  constructor(options: BuildKitSessionOptions) {
    this.#options = options;
  }

  /**
   * Opens the session on the engine and serves `services` and {@link healthService} on it until
   * `close()`. Rejects if the engine refuses the upgrade; the session is then closed.
   * @throws InvalidStateError when started twice or after `close()`.
   */
  async start(
    engine: EngineConnection,
    services: readonly SessionService[],
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#started || this.#closed) {
      throw new InvalidStateError("a BuildKit session can be started once, and not after close()");
    }
    this.#started = true;
    const { name, sharedKey } = this.#options;
    const served = [healthService(), ...services];
    const methods = served.flatMap((service) => service.methods);
    const headers = {
      "X-Docker-Expose-Session-Uuid": this.id,
      "X-Docker-Expose-Session-Name": name.replace(HEADER_UNSAFE, "_").slice(0, 200) || "context",
      "X-Docker-Expose-Session-Sharedkey": sharedKey,
      // The engine uses only the methods announced here (FileSync checks them).
      "X-Docker-Expose-Session-Grpc-Method": methods.map((method) => method.path),
    };
    let socket: Awaited<ReturnType<EngineConnection["upgrade"]>>;
    try {
      socket = await engine.upgrade({
        path: "/session",
        protocol: "h2c",
        headers,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      this.close();
      throw error;
    }
    if (this.#closed) {
      socket.destroy();
      return;
    }
    socket.once("close", () => debug("session %s: the engine closed the connection", this.id));
    // Errors surface through the build; without a listener a reset would crash the process.
    socket.on("error", (error) => debug("session %s: %s", this.id, error.message));
    this.#server = serveSession(socket, methods, { onError: this.#options.onError });
    debug("session %s open (%s)", this.id, served.map((service) => service.name).join(", "));
  }

  /** Closes the session: its calls and the connection. Safe to call again. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server?.close();
    this.#server = undefined;
    if (this.#started) debug("session %s closed", this.id);
  }
}
