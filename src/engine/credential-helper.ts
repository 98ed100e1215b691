/**
 * The docker credential-helper protocol (`docker-credential-<name> get|list`), as the docker CLI
 * and docker-py speak it.
 * @module
 */
import { spawn } from "node:child_process";
import createDebug from "debug";
import { CredentialsError } from "../errors.js";

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
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Where the helper was configured, for error messages, e.g. `credsStore in ~/.docker/config.json`.
   * @default "the Docker config"
   */
  readonly origin?: string;
  /** Cancels the helper: the process is killed and the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
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
    throw helperFailed(helper, "get", result, options);
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
    throw helperFailed(helper, "list", result, options);
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
  readonly stdout: string;
  /** stdout and stderr, trimmed: where helpers put their error text. */
  readonly output: string;
}

function runHelper(
  helper: string,
  action: "get" | "list",
  input: string,
  options: CredentialHelperOptions,
): Promise<HelperResult> {
  const { env = process.env, signal } = options;
  const name = program(helper);
  signal?.throwIfAborted();
  debug("%s %s", name, action);
  return new Promise((resolve, reject) => {
    const child = spawn(name, [action], { env, stdio: ["pipe", "pipe", "pipe"], signal });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    // A helper may exit without reading its input; EPIPE on stdin is not the failure to report.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      if (error.code === "ENOENT") {
        reject(
          new CredentialsError(
            `The credential helper ${name} is not installed or not on PATH; it is named by ${originOf(options)}. Install it, or remove it from the Docker config.`,
            name,
            { cause: error },
          ),
        );
        return;
      }
      reject(
        new CredentialsError(
          `Cannot run the credential helper ${name} (${originOf(options)}): ${error.message}`,
          name,
          {
            cause: error,
          },
        ),
      );
    });
    child.once("close", (exitCode) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const out = Buffer.concat(stdout).toString("utf8");
      const err = Buffer.concat(stderr).toString("utf8");
      resolve({ ok: exitCode === 0, exitCode, stdout: out, output: `${out}\n${err}`.trim() });
    });
  });
}

function helperFailed(
  helper: string,
  action: string,
  result: HelperResult,
  options: CredentialHelperOptions,
): CredentialsError {
  // The CLI shows the helper's own text; it is an error message, not the stored secret.
  const text = result.output.length > 500 ? `${result.output.slice(0, 500)}...` : result.output;
  return new CredentialsError(
    `The credential helper ${program(helper)} ${action} (${originOf(options)}) exited with code ${result.exitCode}${text ? `: ${text}` : ""}`,
    program(helper),
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
