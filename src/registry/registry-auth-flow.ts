/**
 * Answering a registry's `401` challenge: Basic with the login, or a Bearer token from the token
 * server the challenge names (its `realm`). Which hosts may see a login is decided here, once.
 * @module
 */
import { isIP } from "node:net";
import type { RegistryAuth } from "../auth/registry-auth.js";
import { createDebug } from "../debug-logger.js";
import { RegistryError } from "../errors.js";
import type { AuthChallenge } from "./auth-challenge.js";
import { type HttpAgents, type HttpRequest, readBounded, sendHttp } from "./registry-http.js";

const debug = createDebug("prefect-dockerutils:registry");

/** Largest token server answer read; a token is a few KiB. */
const MAX_TOKEN_ANSWER_BYTES = 1024 * 1024;
/** A token without `expires_in` lasts 60 s (the token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/** A token is renewed this long before it expires, so it does not expire in flight. */
const TOKEN_MARGIN_MS = 10_000;

/** An `Authorization` header value and until when it is good. */
export interface Authorization {
  readonly header: string;
  /** Milliseconds since the epoch; `Infinity` for Basic. */
  readonly expiresAt: number;
}

/** What answering a challenge needs. */
export interface ChallengeContext {
  /** The registry's origin, e.g. `http://127.0.0.1:5000`: whose challenge this is. */
  readonly registry: URL;
  /** The registry as messages name it, e.g. `127.0.0.1:5000`. */
  readonly host: string;
  readonly login: RegistryAuth | undefined;
  /** Where the login came from, or where it was looked for (for messages). */
  readonly origin: string;
  /** Scopes the request needs, e.g. `repository:team/app:pull,push`. */
  readonly scopes: readonly string[];
  /** What the registry said with its 401, for the message when no login can answer it. */
  readonly refusal: string;
  readonly agents: HttpAgents;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/** Whether `hostname` is a loopback address (127.0.0.0/8, ::1) or `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  return isIP(bare) === 4 && bare.startsWith("127.");
}

/**
 * Why a login must not be sent to a token server at `realm`, or `undefined` when it may: the
 * realm is a registry's to name (Docker Hub's is on another host), but a login only travels
 * encrypted, unless it stays on this machine (a loopback realm) or goes to the same host the
 * registry itself is spoken to over plain HTTP already.
 */
export function realmProblem(realm: URL, registry: URL): string | undefined {
  if (realm.username !== "" || realm.password !== "") {
    return "its realm URL holds a user name or password";
  }
  if (realm.protocol === "https:") return undefined;
  if (realm.protocol !== "http:") return `its realm has the scheme ${realm.protocol}`;
  if (isLoopbackHost(realm.hostname)) return undefined;
  if (registry.protocol === "http:" && realm.hostname === registry.hostname) return undefined;
  return `its realm ${realm.origin} is plain HTTP on another host, where the login would travel unencrypted`;
}

function basicHeader(login: RegistryAuth | undefined): string | undefined {
  if (!login?.username || login.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${login.username}:${login.password}`, "utf8").toString("base64")}`;
}

function failure(
  context: ChallengeContext,
  message: string,
  statusCode: number,
  refused = false,
): RegistryError {
  return new RegistryError(message, {
    registry: context.host,
    statusCode,
    ...(refused ? { errorCodes: ["UNAUTHORIZED"] } : {}),
  });
}

/**
 * The `Authorization` that answers `challenges` for the context's scopes. Bearer wins over Basic
 * when a registry offers both.
 *
 * @throws RegistryError (status 401) when no login can answer, or the token server refuses it;
 *   the token server's own status for other failures.
 */
export async function answerChallenge(
  challenges: readonly AuthChallenge[],
  context: ChallengeContext,
): Promise<Authorization> {
  const bearer = challenges.find((challenge) => challenge.scheme === "bearer");
  if (bearer) return bearerToken(bearer, context);
  if (challenges.some((challenge) => challenge.scheme === "basic")) {
    const header = basicHeader(context.login);
    if (header === undefined) {
      throw failure(context, `${context.refusal} (${context.origin})`, 401, true);
    }
    return { header, expiresAt: Number.POSITIVE_INFINITY };
  }
  const schemes = challenges.map((challenge) => challenge.scheme).join(", ") || "none";
  throw failure(
    context,
    `${context.refusal} (the registry ${context.host} asks for authentication this client does not speak: ${schemes}; it speaks Basic and Bearer)`,
    401,
  );
}

async function bearerToken(
  challenge: AuthChallenge,
  context: ChallengeContext,
): Promise<Authorization> {
  const { login, host } = context;
  if (login?.registrytoken) {
    return { header: `Bearer ${login.registrytoken}`, expiresAt: Number.POSITIVE_INFINITY };
  }
  const realmText = challenge.params.get("realm") ?? "";
  if (!URL.canParse(realmText)) {
    throw failure(
      context,
      `The registry ${host} asked for a Bearer token without a usable realm (${JSON.stringify(realmText)})`,
      401,
    );
  }
  const realm = new URL(realmText);
  const basic = basicHeader(login);
  const sendsLogin = basic !== undefined || Boolean(login?.identitytoken);
  const problem = sendsLogin ? realmProblem(realm, context.registry) : undefined;
  if (problem !== undefined) {
    throw failure(
      context,
      `The registry ${host} sends logins to the token server ${realm.origin}, but ${problem}; the login from ${context.origin} was not sent`,
      401,
    );
  }
  const scopes = new Set(context.scopes);
  for (const scope of (challenge.params.get("scope") ?? "").split(" ")) {
    if (scope) scopes.add(scope);
  }
  const service = challenge.params.get("service");
  const common = { agents: context.agents, timeoutMs: context.timeoutMs, signal: context.signal };
  let request: HttpRequest;
  if (login?.identitytoken) {
    // An identity (refresh) token is exchanged with OAuth2's refresh_token grant, as the docker
    // CLI does: it is never sent as a password.
    const form = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: login.identitytoken,
      client_id: "prefect-dockerutils",
    });
    if (service) form.set("service", service);
    if (scopes.size > 0) form.set("scope", [...scopes].join(" "));
    const headers = { "Content-Type": "application/x-www-form-urlencoded" };
    request = {
      method: "POST",
      url: realm,
      headers,
      body: Buffer.from(form.toString()),
      ...common,
    };
  } else {
    const url = new URL(realm);
    if (service) url.searchParams.set("service", service);
    for (const scope of scopes) url.searchParams.append("scope", scope);
    if (login?.username) url.searchParams.set("account", login.username);
    request = { method: "GET", url, headers: basic ? { Authorization: basic } : {}, ...common };
  }
  const server = `The token server ${realm.origin} of ${host}`;
  debug(
    "token for %s from %s (%s)",
    [...scopes].join(" "),
    realm.origin,
    sendsLogin ? "login" : "anonymous",
  );
  const started = Date.now();
  const response = await sendHttp(request);
  const { status } = response;
  if (status !== 200) {
    const detail = tokenServerMessage((await readBounded(response, 64 * 1024))?.toString() ?? "");
    const what =
      status === 401
        ? `${server} refused the login from ${context.origin}`
        : `${server} answered ${status}`;
    throw failure(context, `${what}${detail ? `: ${detail}` : ""}`, status, status === 401);
  }
  const body = await readBounded(response, MAX_TOKEN_ANSWER_BYTES);
  if (body === undefined) {
    throw failure(
      context,
      `${server} sent an answer larger than ${MAX_TOKEN_ANSWER_BYTES} bytes`,
      status,
    );
  }
  let answer: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    answer = JSON.parse(body.toString("utf8")) as typeof answer;
  } catch {
    answer = {};
  }
  const token =
    typeof answer?.token === "string" && answer.token ? answer.token : answer?.access_token;
  // The token goes into a header: printable ASCII only, never echoed.
  if (typeof token !== "string" || !/^[\x21-\x7e]{1,65536}$/.test(token)) {
    throw failure(context, `${server} answered without a usable token`, status);
  }
  const expiresIn = answer.expires_in;
  const seconds =
    typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn > 0
      ? expiresIn
      : DEFAULT_TOKEN_SECONDS;
  return { header: `Bearer ${token}`, expiresAt: started + seconds * 1000 - TOKEN_MARGIN_MS };
}

/** The `details` (docker_auth, Docker Hub) or `errors[].message` of a token server's refusal. */
function tokenServerMessage(text: string): string {
  try {
    const json = JSON.parse(text) as { details?: unknown; errors?: { message?: unknown }[] };
    if (typeof json.details === "string") return json.details.slice(0, 500);
    const messages = (Array.isArray(json.errors) ? json.errors : [])
      .map((error) => (typeof error?.message === "string" ? error.message : ""))
      .filter(Boolean);
    if (messages.length > 0) return messages.join("; ").slice(0, 500);
  } catch {
    // Not JSON: the text itself, if short and printable.
  }
  const trimmed = text.trim();
  return /^[\x20-\x7e]{1,200}$/.test(trimmed) ? trimmed : "";
}
