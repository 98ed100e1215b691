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
import { type SessionServer, serveSession } from "./session-server.js";
import { methodPaths, type SessionService } from "./session-service.js";

const debug = createDebug("prefect-dockerutils:buildkit");

/** Options of {@link BuildKitSession}. */
export interface BuildKitSessionOptions {
  /** Shown by the engine, e.g. the context folder's base name (the CLI's choice). */
  readonly name: string;
  /**
   * The key under which the engine keeps what it synced from this client (the context) between
   * builds: the same key for the same folder lets a rebuild send only what changed.
   */
  readonly sharedKey: string;
  /** Hears about failures of the connection itself, which no call reports. */
  readonly onError?: ((error: Error) => void) | undefined;
}

/** What the engine accepts in a header value; anything else is replaced. */
const HEADER_UNSAFE = /[^\x20-\x7e]/g;

/**
 * One session. Make it, pass its {@link BuildKitSession.id} to the build request, and
 * {@link BuildKitSession.start} it; {@link BuildKitSession.close} it on every path.
 */
export class BuildKitSession implements Disposable {
  /** The session's ID, for the build's `session` parameter. */
  readonly id = crypto().randomUUID();
  readonly #options: BuildKitSessionOptions;
  #server: SessionServer | undefined;
  #closed = false;
  #started = false;

  constructor(options: BuildKitSessionOptions) {
    this.#options = options;
  }

  /** Whether {@link BuildKitSession.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Opens the session on the engine and serves `services` on it until {@link close}. Rejects if
   * the engine refuses the upgrade; the session is then closed.
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
    const headers = {
      "X-Docker-Expose-Session-Uuid": this.id,
      "X-Docker-Expose-Session-Name": name.replace(HEADER_UNSAFE, "_").slice(0, 200) || "context",
      "X-Docker-Expose-Session-Sharedkey": sharedKey,
      // The engine uses only the methods announced here (FileSync checks them).
      "X-Docker-Expose-Session-Grpc-Method": services.flatMap(methodPaths),
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
    this.#server = serveSession(
      socket,
      services.flatMap((service) => service.methods),
      { onError: this.#options.onError },
    );
    debug("session %s open (%s)", this.id, services.map((service) => service.name).join(", "));
  }

  /** Closes the session: its calls and the connection. Safe to call again. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server?.close();
    this.#server = undefined;
    if (this.#started) debug("session %s closed", this.id);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
