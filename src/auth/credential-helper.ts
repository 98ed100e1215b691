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

/** What a helper's `get` answers. */
export interface HelperCredentials {
  /** The user name; {@link TOKEN_USERNAME} means `secret` is an identity token. */
  readonly username: string;
  /** The password or token. */
  readonly secret: string;
}

/** The user name with which helpers mark an identity (OAuth refresh) token. */
export const TOKEN_USERNAME = "<token>";

/** Options of {@link credentialHelperGet} and {@link credentialHelperList}. */
export interface CredentialHelperOptions {
  /** The environment of the helper; its `PATH` finds the program. @default process.env */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /**
   * Where the helper was configured, for error messages, e.g. `credsStore in ~/.docker/config.json`.
   * @default "the Docker config"
   */
  readonly origin?: string | undefined;
  /**
   * Cancels the helper: its process group is killed and the promise rejects with the signal's
   * reason at once.
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * How long the helper may take before its process group is killed and the call fails with a
   * {@link CredentialsError}.
   * @default 30000 (DEFAULT_CREDENTIAL_HELPER_TIMEOUT_MS)
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
  const result = await runHelper(helper, "get", serverUrl, options);
  if (!result.ok) {
    if (NOT_FOUND.test(result.output)) {
      debug("%s has no credentials for %s", program(helper), serverUrl);
      return undefined;
    }
    throw helperFailed(helper, "get", serverUrl, result, options);
  }
  const answer = parseAnswer(helper, "get", result.stdout, options);
  const username = answer?.Username;
  const secret = answer?.Secret;
  if (typeof username !== "string" || typeof secret !== "string") {
    throw new CredentialsError(
      `${program(helper)} get (${originOf(options)}) answered without the string fields Username and Secret`,
      program(helper),
    );
  }
  if (!username && !secret) return undefined;
  return { username, secret };
}

/**
 * Asks `docker-credential-<helper> list` for the servers it holds credentials for.
 * Resolves to a map of server URL to user name.
 *
 * @throws CredentialsError as {@link credentialHelperGet} does.
 */
export async function credentialHelperList(
  helper: string,
  options: CredentialHelperOptions = {},
): Promise<Map<string, string>> {
  const result = await runHelper(helper, "list", "", options);
  if (!result.ok) {
    if (NOT_FOUND.test(result.output)) return new Map();
    throw helperFailed(helper, "list", "", result, options);
  }
  const answer = parseAnswer(helper, "list", result.stdout, options);
  const servers = new Map<string, string>();
  for (const [server, username] of Object.entries(answer ?? {})) {
    servers.set(server, typeof username === "string" ? username : "");
  }
  return servers;
}

/** `docker-credential-<helper>`. */
export function program(helper: string): string {
  return `docker-credential-${helper}`;
}

function originOf(options: CredentialHelperOptions): string {
  return options.origin ?? "the Docker config";
}

interface HelperResult {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  readonly stdout: string;
  /** stdout and stderr, trimmed: where helpers say "credentials not found". Never shown. */
  readonly output: string;
}

/** A helper name is the tail of a program name on PATH, never a path to run something else. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Kills a helper's process group, if its leader has not been seen to exit, and forgets it. */
function killGroup(pid: number | undefined): void {
  killProcessGroup(pid, "SIGKILL");
  forgetProcessGroup(pid);
}

function runHelper(
  helper: string,
  action: "get" | "list",
  input: string,
  options: CredentialHelperOptions,
): Promise<HelperResult> {
  const { env = process.env, signal } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CREDENTIAL_HELPER_TIMEOUT_MS;
  const name = program(helper);
  signal?.throwIfAborted();
  if (typeof helper !== "string" || !HELPER_NAME.test(helper)) {
    return Promise.reject(
      new CredentialsError(
        `${originOf(options)} names the credential helper ${JSON.stringify(String(helper))}, which is not a helper name: it must be the part after "docker-credential-" of a program on PATH (letters, digits, ".", "_", "+" and "-")`,
        name,
      ),
    );
  }
  debug("%s %s", name, action);
  return new Promise((resolve, reject) => {
    // Its own process group (a new session), so that killing it also kills whatever it started:
    // a keychain prompt or an agent it waits on.
    const child = childProcess().spawn(name, [action], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    // Killed if this process exits before it does.
    trackProcessGroup(child.pid);
    const chunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error: unknown, result?: HelperResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error !== undefined) {
        killGroup(child.pid);
        child.stdout.destroy();
        child.stderr.destroy();
        child.stdin.destroy();
        reject(error);
        return;
      }
      forgetProcessGroup(child.pid);
      resolve(result as HelperResult);
    };
    const onAbort = () => finish(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(
      () =>
        finish(
          new CredentialsError(
            `The credential helper ${name} ${action} (${originOf(options)}) did not answer within ${timeoutMs} ms and was stopped. It may be waiting for a keychain or passphrase prompt: run \`${byHand(name, action, input)}\` to see what it does, or raise credentialHelperTimeoutMs.`,
            name,
          ),
        ),
      timeoutMs,
    );
    const collect = (target: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CREDENTIAL_HELPER_OUTPUT_BYTES) {
        finish(
          new CredentialsError(
            `The credential helper ${name} ${action} (${originOf(options)}) printed more than ${MAX_CREDENTIAL_HELPER_OUTPUT_BYTES} bytes, far more than an answer, and was stopped; run \`${byHand(name, action, input)}\` to see what it prints.`,
            name,
          ),
        );
        return;
      }
      target.push(chunk);
    };
    child.stdout.on("data", collect(chunks));
    child.stderr.on("data", collect(errChunks));
    // A helper may exit without reading its input; EPIPE on stdin is not the failure to report.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") {
        finish(
          new CredentialsError(
            `The credential helper ${name} is not installed or not on PATH; it is named by ${originOf(options)}. Install it, or remove it from the Docker config.`,
            name,
            { cause: error },
          ),
        );
        return;
      }
      finish(
        new CredentialsError(
          `Cannot run the credential helper ${name} (${originOf(options)}): ${error.message}`,
          name,
          { cause: error },
        ),
      );
    });
    child.once("close", (exitCode, exitSignal) => {
      const out = Buffer.concat(chunks).toString("utf8");
      const err = Buffer.concat(errChunks).toString("utf8");
      finish(undefined, {
        ok: exitCode === 0,
        exitCode,
        exitSignal,
        stdout: out,
        output: `${out}\n${err}`.trim(),
      });
    });
  });
}

/** The shell command that runs a helper by hand, as the CLI would. */
function byHand(name: string, action: string, input: string): string {
  if (action !== "get") return `${name} ${action}`;
  return `printf %s '${input.replace(/'/g, "'\\''")}' | ${name} get`;
}

function helperFailed(
  helper: string,
  action: "get" | "list",
  input: string,
  result: HelperResult,
  options: CredentialHelperOptions,
): CredentialsError {
  const name = program(helper);
  const how =
    result.exitCode === null
      ? `was killed by ${result.exitSignal}`
      : `exited with code ${result.exitCode}`;
  // Never the helper's output: a helper may print the secret before it fails.
  return new CredentialsError(
    `The credential helper ${name} ${action} (${originOf(options)}) ${how}. Its output is not shown, since it may hold a secret: run \`${byHand(name, action, input)}\` to see it.`,
    name,
  );
}

function parseAnswer(
  helper: string,
  action: string,
  stdout: string,
  options: CredentialHelperOptions,
): Record<string, unknown> | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    // Never echo the answer: it may be the secret itself.
    throw new CredentialsError(
      `The credential helper ${program(helper)} ${action} (${originOf(options)}) answered with something that is not JSON`,
      program(helper),
    );
  }
  if (answer === null) return undefined;
  if (typeof answer !== "object" || Array.isArray(answer)) {
    throw new CredentialsError(
      `The credential helper ${program(helper)} ${action} (${originOf(options)}) answered with JSON that is not an object`,
      program(helper),
    );
  }
  return answer as Record<string, unknown>;
}
