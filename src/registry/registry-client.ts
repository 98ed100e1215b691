/**
 * A small Registry HTTP API v2 client (distribution's `docs/spec/api.md`, the OCI distribution
 * spec): blobs (HEAD, cross-repository mount, upload) and manifest PUT, with the registry's
 * `WWW-Authenticate` challenge answered, over HTTPS or (for registries the engine treats as
 * insecure) plain HTTP, with bounded answers, timeouts, cancellation and retries.
 *
 * Written by hand: the npm clients of this API are either read-only (pull) or unmaintained, and
 * none follows the engine's insecure-registry rules or this library's credential lookup.
 * @module
 */
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import type { RegistryAuthLookup } from "../auth/credentials.js";
import { engineTreatsAsInsecure } from "../auth/registry-security.js";
import { createDebug } from "../debug-logger.js";
import type { EngineConnection } from "../engine/engine-connection.js";
import { InvalidArgumentError, InvalidStateError, RegistryError } from "../errors.js";
import { runAttempts } from "../operation/attempt.js";
import type { NormalizedOperationOptions } from "../operation/operation-options.js";
import { isTransientError } from "../operation/retry.js";
import { parseAuthChallenges } from "./auth-challenge.js";
import type { EncodedDocument } from "./image-index.js";
import { type Authorization, answerChallenge, isLoopbackHost } from "./registry-auth-flow.js";
import {
  type BodySource,
  discard,
  HttpAgents,
  type HttpRequest,
  type HttpResponse,
  readBounded,
  sendHttp,
} from "./registry-http.js";

const debug = createDebug("prefect-dockerutils:registry");

const MAX_ERROR_BYTES = 64 * 1024;
/** Blobs up to this size go up in one PUT; larger ones in PATCH chunks of this size. */
const UPLOAD_CHUNK_BYTES = 32 * 1024 * 1024;
const DEFAULT_REGISTRY_TIMEOUT_MS = 60_000;

/** Where a blob's bytes come from: a range of them, read again for a retried chunk. */
export interface BlobSource {
  readonly size: number;
  /** A stream of bytes `start` (inclusive) to `end` (exclusive). */
  open(start: number, end: number): Readable;
}

/** Options of {@link RegistryClient.connect}. */
export interface RegistryClientOptions {
  /**
   * The engine whose insecure-registry settings decide how the registry is spoken to: HTTPS with
   * a checked certificate for a secure registry; for an insecure one (the engine's
   * `insecure-registries`, and always 127.0.0.0/8) HTTPS without the check, then plain HTTP when
   * HTTPS fails, as the engine does.
   */
  readonly engine: EngineConnection;
  readonly login: Pick<RegistryAuthLookup, "auth" | "origin">;
  /** @default 60000 */
  readonly timeoutMs?: number | undefined;
  /** How requests are retried, and who hears of each retry (as a push's `retry` event). */
  readonly retry: Pick<
    NormalizedOperationOptions,
    "retries" | "retryDelayMs" | "retryJitter" | "onProgress"
  >;
}

interface Operation {
  readonly method: HttpRequest["method"];
  /** A path under the registry (`/v2/...`) or an absolute URL the registry gave (`Location`). */
  readonly target: string;
  readonly scopes: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | BodySource;
  readonly signal: AbortSignal | undefined;
}

const pull = (repository: string) => `repository:${repository}:pull`;
const push = (repository: string) => `repository:${repository}:pull,push`;

/**
 * Whether a registry failure is worth another attempt: connection resets, silence, 408, 429 and
 * 5xx, and the registry races `isTransientError` knows. Never a refused login (401, 403), a
 * missing thing (404) or anything else the registry decided.
 */
export function isTransientRegistryError(error: unknown): boolean {
  if (error instanceof InvalidArgumentError || error instanceof InvalidStateError) return false;
  if (error instanceof RegistryError) {
    const status = error.statusCode;
    if (status === undefined) return isTransientError(error.cause);
    if (status === 401 || status === 403 || status === 404) return false;
    return status === 408 || status === 429 || status >= 500 || isTransientError(error);
  }
  return isTransientError(error);
}

/**
 * A connection to one registry. Close it (or `await using` it) to release its connections.
 * Repositories, tags and digests are taken as the callers' normalising pass checked them, or as
 * this library computed them (digests).
 */
export class RegistryClient implements AsyncDisposable {
  /** The registry as written in references, e.g. `ghcr.io`, `127.0.0.1:5000`, `docker.io`. */
  readonly host: string;
  readonly #base: URL;
  readonly #verifyTls: boolean;
  readonly #agents: HttpAgents;
  readonly #options: RegistryClientOptions;
  readonly #timeoutMs: number;
  /** Basic credentials fit every request. */
  #basic: Authorization | undefined;
  readonly #tokens = new Map<string, Promise<Authorization>>();
  #closed = false;

  private constructor(
    host: string,
    base: URL,
    verifyTls: boolean,
    agents: HttpAgents,
    options: RegistryClientOptions,
  ) {
    this.host = host;
    this.#base = base;
    this.#verifyTls = verifyTls;
    this.#agents = agents;
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS;
  }

  /**
   * Finds how to speak to `host` (HTTPS, or plain HTTP for an insecure registry whose HTTPS
   * fails), and checks that the login is accepted for `scopes`, so a wrong password fails here,
   * before anything is built or sent.
   *
   * @param host - the registry as references name it: `ghcr.io`, `127.0.0.1:5000`, `docker.io`.
   * @throws RegistryError with the registry's (or token server's) status and text; the signal's
   *   reason when cancelled.
   */
  static async connect(
    host: string,
    scopes: readonly string[],
    options: RegistryClientOptions,
    signal?: AbortSignal,
  ): Promise<RegistryClient> {
    signal?.throwIfAborted();
    const apiHost = host === "docker.io" ? "registry-1.docker.io" : host;
    const insecure = await engineTreatsAsInsecure(options.engine, host, signal).catch(
      (error: unknown) => {
        signal?.throwIfAborted();
        debug("cannot read the engine's registry settings: %s", (error as Error).message);
        return undefined;
      },
    );
    // Without the engine's word, loopback is insecure: the engine always treats 127.0.0.0/8 so.
    const verifyTls = !(insecure ?? isLoopbackHost(new URL(`https://${apiHost}`).hostname));
    const candidates = [new URL(`https://${apiHost}/`)];
    if (!verifyTls) candidates.push(new URL(`http://${apiHost}/`));
    const agents = new HttpAgents();
    const failures: string[] = [];
    try {
      for (const base of candidates) {
        const response = await sendHttp({
          method: "GET",
          url: new URL("/v2/", base),
          agents,
          verifyTls,
          timeoutMs: options.timeoutMs ?? DEFAULT_REGISTRY_TIMEOUT_MS,
          signal,
        }).catch((error: unknown) => {
          signal?.throwIfAborted();
          failures.push(`${base.origin}: ${(error as Error).message}`);
          return undefined;
        });
        if (response === undefined) continue;
        await discard(response);
        const client = new RegistryClient(host, base, verifyTls, agents, options);
        debug("registry %s at %s", host, base.origin);
        if (response.status !== 200) {
          await client.#retry(signal, async () => {
            const checked = await client.#send({ method: "GET", target: "/v2/", scopes, signal });
            await client.#expect(checked, [200], "GET /v2/");
          });
        }
        return client;
      }
    } catch (error) {
      agents.destroy();
      throw error;
    }
    agents.destroy();
    throw new RegistryError(
      `Cannot reach the registry ${host}: ${failures.join("; ")}${insecure === false ? ` (the engine treats ${host} as a secure registry, so only HTTPS with a valid certificate is tried)` : ""}`,
      { registry: host },
    );
  }

  /** Closes the client's connections. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#agents.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /**
   * Puts a manifest (or index) under `reference` (a tag, or its own digest) and resolves to the
   * digest the registry confirmed, which must be the document's.
   */
  putManifest(
    repository: string,
    reference: string,
    document: EncodedDocument,
    signal?: AbortSignal,
  ): Promise<string> {
    const target = `/v2/${repository}/manifests/${reference}`;
    const { digest, mediaType } = document.descriptor;
    return this.#retry(signal, async () => {
      const response = await this.#send({
        method: "PUT",
        target,
        scopes: [push(repository)],
        headers: { "Content-Type": mediaType },
        body: document.bytes,
        signal,
      });
      await this.#expect(response, [201], `PUT ${target}`);
      const confirmed = response.headers["docker-content-digest"];
      if (confirmed !== undefined && confirmed !== digest) {
        throw this.#error(
          `The registry stored ${repository}:${reference} as ${String(confirmed)}, not as the ${digest} that was sent`,
          response.status,
        );
      }
      return digest;
    });
  }

  /** The blob's size, or `undefined` when the repository does not have it. */
  headBlob(repository: string, digest: string, signal?: AbortSignal): Promise<number | undefined> {
    const target = `/v2/${repository}/blobs/${digest}`;
    return this.#retry(signal, async () => {
      const response = await this.#send({
        method: "HEAD",
        target,
        scopes: [pull(repository)],
        signal,
      });
      await this.#expect(response, [200, 307, 404], `HEAD ${target}`);
      if (response.status === 404) return undefined;
      return Number(response.headers["content-length"] ?? 0);
    });
  }

  /**
   * Asks the registry to link a blob `from` another repository into `repository` (a
   * cross-repository mount): resolves to `true` when it did, `false` when it could not (the
   * upload session it opened instead is cancelled).
   */
  mountBlob(
    repository: string,
    digest: string,
    from: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const query = new URLSearchParams({ mount: digest, from });
    const target = `/v2/${repository}/blobs/uploads/?${query}`;
    return this.#retry(signal, async () => {
      const response = await this.#send({
        method: "POST",
        target,
        scopes: [push(repository), pull(from)],
        signal,
      });
      await this.#expect(response, [201, 202], `POST ${target}`);
      if (response.status === 201) return true;
      const location = response.headers.location;
      if (location) await this.#cancelUpload(repository, location);
      return false;
    });
  }

  /**
   * Uploads a blob whose digest is known: one `PUT` for blobs up to 32 MiB, else `PATCH` chunks
   * (each retried on its own, from where the registry says it got to) and a closing `PUT`. The
   * registry must confirm the digest. `onProgress` hears the bytes sent so far.
   */
  uploadBlob(
    repository: string,
    digest: string,
    source: BlobSource,
    options: {
      readonly signal?: AbortSignal | undefined;
      readonly onProgress?: (sent: number) => void;
    } = {},
  ): Promise<void> {
    const { signal, onProgress } = options;
    const scopes = [push(repository)];
    const counted = (start: number, end: number): BodySource => ({
      size: end - start,
      open: () => {
        let sent = start;
        return source.open(start, end).pipe(
          new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              sent += chunk.length;
              onProgress?.(sent);
              callback(null, chunk);
            },
          }),
        );
      },
    });
    // A failure the chunk retries could not get past starts the upload over, and so does an
    // upload session the registry no longer takes (distribution's is tied to the offset its
    // state token says, which a PATCH cut mid-way leaves behind).
    const sessionLost = (error: unknown) =>
      error instanceof RegistryError &&
      error.errorCodes.some(
        (code) => code === "BLOB_UPLOAD_INVALID" || code === "BLOB_UPLOAD_UNKNOWN",
      );
    return this.#retry(
      signal,
      async () => {
        const started = await this.#send({
          method: "POST",
          target: `/v2/${repository}/blobs/uploads/`,
          scopes,
          signal,
        });
        await this.#expect(started, [202], `POST /v2/${repository}/blobs/uploads/`);
        let location = this.#location(started);
        let offset = 0;
        while (source.size > UPLOAD_CHUNK_BYTES && offset < source.size) {
          const end = Math.min(offset + UPLOAD_CHUNK_BYTES, source.size);
          ({ location, offset } = await this.#patchChunk(
            repository,
            { location, offset },
            end,
            counted,
            signal,
          ));
        }
        const done = new URL(location);
        done.searchParams.set("digest", digest);
        const response = await this.#send({
          method: "PUT",
          target: done.href,
          scopes,
          headers: { "Content-Type": "application/octet-stream" },
          ...(offset < source.size ? { body: counted(offset, source.size) } : {}),
          signal,
        });
        await this.#expect(response, [201], `PUT ${repository} blob upload`);
        const confirmed = response.headers["docker-content-digest"];
        if (confirmed !== undefined && confirmed !== digest) {
          throw this.#error(
            `The registry stored the blob ${digest} as ${String(confirmed)}`,
            response.status,
          );
        }
      },
      (error) => sessionLost(error) || isTransientRegistryError(error),
    );
  }

  /** One PATCH of bytes `[from.offset, end)`, retried from the offset the registry reports. */
  async #patchChunk(
    repository: string,
    from: { location: string; offset: number },
    end: number,
    counted: (start: number, end: number) => BodySource,
    signal: AbortSignal | undefined,
  ): Promise<{ location: string; offset: number }> {
    let current = from;
    const scopes = [push(repository)];
    await this.#retry(signal, async (attempt) => {
      if (attempt > 1) {
        const status = await this.#send({
          method: "GET",
          target: current.location,
          scopes,
          signal,
        });
        await this.#expect(status, [204], `GET ${repository} blob upload status`);
        // distribution answers `0-0` both for nothing and for one byte: read as nothing, which
        // at worst sends one byte again (and chunks are far larger than one byte).
        const range = /^(?:bytes=)?0-(\d+)$/.exec(String(status.headers.range ?? ""));
        const last = range ? Number(range[1]) : 0;
        current = { location: this.#location(status), offset: last > 0 ? last + 1 : 0 };
      }
      if (current.offset >= end) return;
      const response = await this.#send({
        method: "PATCH",
        target: current.location,
        scopes,
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Range": `${current.offset}-${end - 1}`,
        },
        body: counted(current.offset, end),
        signal,
      });
      await this.#expect(response, [202], `PATCH ${repository} blob upload`);
      current = { location: this.#location(response), offset: end };
    });
    return current;
  }

  /** Cancels an upload session (best effort: the registry expires it anyway). */
  async #cancelUpload(repository: string, location: string): Promise<void> {
    try {
      const response = await this.#send({
        method: "DELETE",
        target: new URL(location, this.#base).href,
        scopes: [push(repository)],
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await discard(response);
    } catch (error) {
      debug("cancelling an upload: %s", (error as Error).message);
    }
  }

  /** The absolute upload URL of an answer's `Location`, never HTTP under HTTPS. */
  #location(response: HttpResponse): string {
    const location = response.headers.location;
    if (typeof location !== "string" || location === "") {
      throw this.#error(
        "The registry answered an upload request without a Location",
        response.status,
      );
    }
    const url = new URL(location, this.#base);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw this.#error(
        `The registry gave the upload location ${url.protocol} URL`,
        response.status,
      );
    }
    if (this.#base.protocol === "https:" && url.protocol === "http:") {
      throw this.#error(
        `The registry ${this.host}, spoken to over HTTPS, gave a plain HTTP upload location (${url.origin}); refused`,
        response.status,
      );
    }
    return url.href;
  }

  #retry<T>(
    signal: AbortSignal | undefined,
    operation: (attempt: number) => Promise<T>,
    isTransient: (error: unknown) => boolean = isTransientRegistryError,
  ): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new InvalidStateError(`The registry client for ${this.host} is closed`),
      );
    }
    return runAttempts(
      { ...this.#options.retry, signal, inactivityTimeoutMs: 0, streamProgressTo: undefined },
      { operation: "push", what: `request to registry ${this.host}`, debug, isTransient },
      (_attempt, attemptNumber) => operation(attemptNumber),
    );
  }

  /**
   * Sends an operation with what authorises it, answering one 401 challenge at most. The login
   * (or token) goes to the registry's own origin only: an upload location on another host gets
   * the request without it.
   */
  async #send(operation: Operation): Promise<HttpResponse> {
    const url = new URL(operation.target, this.#base);
    const own = url.origin === this.#base.origin;
    const key = [...operation.scopes].sort().join(" ");
    const known = own ? await this.#known(key) : undefined;
    const request = (authorization: Authorization | undefined): Promise<HttpResponse> =>
      sendHttp({
        method: operation.method,
        url,
        headers: {
          ...operation.headers,
          ...(authorization ? { Authorization: authorization.header } : {}),
        },
        body: operation.body,
        agents: this.#agents,
        verifyTls: this.#verifyTls,
        timeoutMs: this.#timeoutMs,
        signal: operation.signal,
      });
    const response = await request(known);
    if (response.status !== 401 || !own) return response;
    const { text: refusal } = await this.#failure(response, `${operation.method} ${url.pathname}`);
    const challenges = parseAuthChallenges(response.headersDistinct["www-authenticate"]);
    const { login } = this.#options;
    const bearer = challenges.some((challenge) => challenge.scheme === "bearer");
    const answer = answerChallenge(challenges, {
      registry: this.#base,
      host: this.host,
      login: login.auth,
      origin: login.origin,
      scopes: operation.scopes,
      refusal,
      agents: this.#agents,
      timeoutMs: this.#timeoutMs,
      signal: operation.signal,
    });
    if (bearer) {
      // Shared while it is asked for, so concurrent requests ask the token server once.
      this.#tokens.set(key, answer);
      answer.catch(() => this.#tokens.delete(key));
    }
    const authorization = await answer;
    if (!bearer) this.#basic = authorization;
    if (known !== undefined && authorization.header === known.header) {
      // The same credentials were refused already: asking again cannot help.
      throw this.#error(`${refusal} (${login.origin})`, 401, ["UNAUTHORIZED"]);
    }
    return request(authorization);
  }

  /** What already authorises requests for `key`'s scopes, if anything still does. */
  async #known(key: string): Promise<Authorization | undefined> {
    if (this.#basic) return this.#basic;
    const token = this.#tokens.get(key);
    if (!token) return undefined;
    const authorization = await token.catch(() => undefined);
    if (authorization && authorization.expiresAt > Date.now()) return authorization;
    this.#tokens.delete(key);
    return undefined;
  }

  #error(message: string, statusCode: number, errorCodes?: string[]): RegistryError {
    return new RegistryError(message, { registry: this.host, statusCode, errorCodes });
  }

  /**
   * Drops the answer's body when its status is one of `expected`, else fails with the registry's
   * own text.
   */
  async #expect(response: HttpResponse, expected: readonly number[], what: string): Promise<void> {
    if (!expected.includes(response.status)) {
      const { text, codes } = await this.#failure(response, what);
      throw this.#error(text, response.status, codes);
    }
    await discard(response);
  }

  /**
   * The registry's message for a failed answer, as the engine words it: `unauthorized:
   * authentication required` (each `errors[]` entry's code, lower-cased with spaces, then its
   * message), else the status.
   */
  async #failure(response: HttpResponse, what: string): Promise<{ text: string; codes: string[] }> {
    const body =
      response.status === 204
        ? Buffer.alloc(0)
        : await readBounded(response, MAX_ERROR_BYTES).catch(() => undefined);
    const codes: string[] = [];
    const parts: string[] = [];
    try {
      const json = JSON.parse(body?.toString("utf8") ?? "") as {
        errors?: { code?: unknown; message?: unknown }[];
      };
      for (const entry of Array.isArray(json.errors) ? json.errors.slice(0, 10) : []) {
        const code = typeof entry?.code === "string" ? entry.code.slice(0, 100) : "";
        const message = typeof entry?.message === "string" ? entry.message.slice(0, 500) : "";
        if (code) codes.push(code);
        parts.push(code ? `${code.toLowerCase().replaceAll("_", " ")}: ${message}` : message);
      }
    } catch {
      // Not the registry's JSON: the status says it.
    }
    if (parts.length > 0) return { text: parts.join("; "), codes };
    const status = `${response.status} ${response.body.statusMessage ?? ""}`.trim();
    return { text: `${what} answered ${status}`, codes };
  }
}
