/**
 * The docker credential-helper protocol (`docker-credential-<name> get|list`), as the docker CLI
 * and docker-py speak it.
 * @module
 */
import { createDebug } from "../debug-logger.js";
import {
  DEFAULT_CREDENTIAL_HELPER_TIMEOUT_MS,
  MAX_CREDENTIAL_HELPER_OUTPUT_BYTES,
} from "../defaults.js";
import {
  forgetProcessGroup,
  killProcessGroup,
  trackProcessGroup,
} from "../engine/process-group.js";
import { CredentialsError } from "../errors.js";
import { childProcess } from "../lazy-builtins.js";

const debug = createDebug("prefect-dockerutils:credentials");

/** The answer docker-credential-helpers give when they hold nothing for a server. */
const NOT_FOUND = /credentials not found/i;
/** A helper name is the tail of a program name on PATH, never a path to run something else. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** What a helper's `get` answers; the user name {@link TOKEN_USERNAME} marks an identity token. */
export interface HelperCredentials {
  readonly username: string;
  readonly secret: string;
}

/** The user name with which helpers mark an identity (OAuth refresh) token. */
export const TOKEN_USERNAME = "<token>";

/** Options of {@link credentialHelperGet} and {@link credentialHelperList}. */
export interface CredentialHelperOptions {
  /** The environment of the helper; its `PATH` finds the program. @default process.env */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /**
   * Where the helper was configured, for messages, e.g. `credsStore in ~/.docker/config.json`.
   * @default "the Docker config"
   */
  readonly origin?: string | undefined;
  /** Kills the helper's process group and rejects with the signal's reason at once. */
  readonly signal?: AbortSignal | undefined;
  /**
   * How long the helper may take before its process group is killed and the call fails with a
   * {@link CredentialsError}.
   * @default 30000
   */
  readonly timeoutMs?: number | undefined;
}

/**
 * Asks `docker-credential-<helper> get` for the credentials of `serverUrl` (written to its stdin,
 * without a newline, as the CLI does). Resolves to `undefined` when the helper has none: it
 * answers "credentials not found", or an empty user name and secret (as `docker-credential-pass`
 * does).
 *
 * @throws CredentialsError when the program is not on `PATH`, fails otherwise, or answers
 *   something that is not the protocol's JSON.
 */
export async function credentialHelperGet(
  helper: string,
  serverUrl: string,
  options: CredentialHelperOptions = {},
): Promise<HelperCredentials | undefined> {
  const answer = await ask(helper, "get", serverUrl, options);
  if (answer === undefined) {
    debug("%s has no credentials for %s", program(helper), serverUrl);
    return undefined;
  }
  const username = answer?.Username;
  const secret = answer?.Secret;
  if (typeof username !== "string" || typeof secret !== "string") {
    throw new CredentialsError(
      `${program(helper)} get (${options.origin ?? "the Docker config"}) answered without the string fields Username and Secret`,
      program(helper),
    );
  }
  return username || secret ? { username, secret } : undefined;
}

/**
 * Asks `docker-credential-<helper> list` for the servers it holds credentials for: a map of
 * server URL to user name.
 *
 * @throws CredentialsError as {@link credentialHelperGet} does.
 */
export async function credentialHelperList(
  helper: string,
  options: CredentialHelperOptions = {},
): Promise<Map<string, string>> {
  const answer = await ask(helper, "list", "", options);
  return new Map(
    Object.entries(answer ?? {}).map(([server, user]) => [
      server,
      typeof user === "string" ? user : "",
    ]),
  );
}

/** `docker-credential-<helper>`. */
export function program(helper: string): string {
  return `docker-credential-${helper}`;
}

/**
 * Runs the helper and parses its JSON answer: `undefined` when it holds nothing ("credentials not
 * found"), `null` when it answers `null`.
 */
async function ask(
  helper: string,
  action: "get" | "list",
  input: string,
  options: CredentialHelperOptions,
): Promise<Record<string, unknown> | null | undefined> {
  const name = program(helper);
  const origin = options.origin ?? "the Docker config";
  const called = `The credential helper ${name} ${action} (${origin})`;
  // How to run it by hand, as the CLI would.
  const byHand =
    action === "get"
      ? `printf %s '${input.replace(/'/g, "'\\''")}' | ${name} get`
      : `${name} ${action}`;
  options.signal?.throwIfAborted();
  if (typeof helper !== "string" || !HELPER_NAME.test(helper)) {
    throw new CredentialsError(
      `${origin} names the credential helper ${JSON.stringify(String(helper))}, which is not a helper name: it must be the part after "docker-credential-" of a program on PATH (letters, digits, ".", "_", "+" and "-")`,
      name,
    );
  }
  debug("%s %s", name, action);
  const { exitCode, exitSignal, stdout, stderr } = await run(
    { name, action, input, origin, called, byHand },
    options,
  );
  if (exitCode !== 0) {
    // Where helpers say "credentials not found". Never shown: a helper may print the secret
    // before it fails.
    if (NOT_FOUND.test(`${stdout}\n${stderr}`)) return undefined;
    const how = exitCode === null ? `was killed by ${exitSignal}` : `exited with code ${exitCode}`;
    throw new CredentialsError(
      `${called} ${how}. Its output is not shown, since it may hold a secret: run \`${byHand}\` to see it.`,
      name,
    );
  }
  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    // Never echo the answer: it may be the secret itself.
    throw new CredentialsError(`${called} answered with something that is not JSON`, name);
  }
  if (answer !== null && (typeof answer !== "object" || Array.isArray(answer))) {
    throw new CredentialsError(`${called} answered with JSON that is not an object`, name);
  }
  return answer as Record<string, unknown> | null;
}

/** One helper call and how messages name it. */
interface HelperCall {
  readonly name: string;
  readonly action: string;
  readonly input: string;
  readonly origin: string;
  /** `The credential helper <name> <action> (<origin>)`. */
  readonly called: string;
  /** The shell command that runs the call by hand. */
  readonly byHand: string;
}

interface HelperExit {
  readonly exitCode: number | null;
  readonly exitSignal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the helper with `input` on stdin, bounded in time and output. */
function run(call: HelperCall, options: CredentialHelperOptions): Promise<HelperExit> {
  const { name, called, byHand } = call;
  const { env = process.env, signal } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CREDENTIAL_HELPER_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    // Its own process group (a new session), so that killing it also kills whatever it started:
    // a keychain prompt or an agent it waits on.
    const child = childProcess().spawn(name, [call.action], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    // Killed if this process exits before it does.
    trackProcessGroup(child.pid);
    const chunks: [Buffer[], Buffer[]] = [[], []];
    let size = 0;
    let settled = false;
    const finish = (error: unknown, exit?: HelperExit) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (exit === undefined) {
        killProcessGroup(child.pid, "SIGKILL");
        for (const stream of [child.stdout, child.stderr, child.stdin]) stream.destroy();
      }
      forgetProcessGroup(child.pid);
      if (exit) resolve(exit);
      else reject(error);
    };
    const fail = (message: string, cause?: Error) =>
      finish(new CredentialsError(message, name, cause ? { cause } : undefined));
    const onAbort = () => finish(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(
      () =>
        fail(
          `${called} did not answer within ${timeoutMs} ms and was stopped. It may be waiting for a keychain or passphrase prompt: run \`${byHand}\` to see what it does, or raise credentialHelperTimeoutMs.`,
        ),
      timeoutMs,
    );
    const collect = (target: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_CREDENTIAL_HELPER_OUTPUT_BYTES) target.push(chunk);
      else {
        fail(
          `${called} printed more than ${MAX_CREDENTIAL_HELPER_OUTPUT_BYTES} bytes, far more than an answer, and was stopped; run \`${byHand}\` to see what it prints.`,
        );
      }
    };
    child.stdout.on("data", collect(chunks[0]));
    child.stderr.on("data", collect(chunks[1]));
    // A helper may exit without reading its input; EPIPE on stdin is not the failure to report.
    child.stdin.on("error", () => undefined);
    child.stdin.end(call.input);
    child.once("error", (error: NodeJS.ErrnoException) =>
      fail(
        error.code === "ENOENT"
          ? `The credential helper ${name} is not installed or not on PATH; it is named by ${call.origin}. Install it, or remove it from the Docker config.`
          : `Cannot run the credential helper ${name} (${call.origin}): ${error.message}`,
        error,
      ),
    );
    child.once("close", (exitCode, exitSignal) => {
      const [stdout = "", stderr = ""] = chunks.map((part) => Buffer.concat(part).toString("utf8"));
      finish(undefined, { exitCode, exitSignal, stdout, stderr });
    });
  });
}
