/**
 * Test support for credentials and engines: temporary Docker config folders and a credential
 * helper program that really speaks the protocol. Everything made here is removed when the test
 * finishes (vitest's onTestFinished) or by the returned cleanup.
 */
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { DOCKER_SOCKET, testEngineSocket } from "../../integration/test-engine.js";
import { tempDir } from "../files.js";

export { tempDir };

const HELPER_SOURCE = path.resolve(
  import.meta.dirname,
  "../../fixtures/credentials/docker-credential-pdu-test.mjs",
);

/** Writes `config` as `config.json` in a new temporary folder and returns the folder. */
export async function dockerConfig(config: unknown): Promise<string> {
  const dir = await tempDir("pdu-config-");
  await writeFile(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  return dir;
}

/** One stored login of the test helper. */
export interface StoredLogin {
  readonly Username: string;
  readonly Secret: string;
}

/** A credential helper installed in a temporary folder. */
export interface InstalledHelper {
  /** The folder to put first on PATH. */
  readonly binDir: string;
  /** The helper's name, the part after `docker-credential-`. */
  readonly name: string;
  /** Every call so far: the action and what was written to stdin. */
  calls(): Promise<{ action: string; input: string }[]>;
}

/**
 * Installs `docker-credential-<name>` (a real executable) holding `store`, in a temporary folder.
 * Put `binDir` first on the PATH of the environment the lookups get.
 */
export async function installHelper(
  name: string,
  store: Readonly<Record<string, StoredLogin>>,
  dir?: string,
): Promise<InstalledHelper> {
  const binDir = dir ?? (await tempDir("pdu-helper-"));
  await mkdir(binDir, { recursive: true });
  const script = path.join(binDir, "helper.mjs");
  await copyFile(HELPER_SOURCE, script);
  await writeFile(path.join(binDir, "store.json"), JSON.stringify(store));
  const program = path.join(binDir, `docker-credential-${name}`);
  await writeFile(program, `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`);
  await chmod(program, 0o755);
  return {
    binDir,
    name,
    async calls() {
      const text = await readFile(path.join(binDir, "calls.jsonl"), "utf8").catch(() => "");
      return text
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { action: string; input: string });
    },
  };
}

/** An environment with `DOCKER_CONFIG` set and the given folders first on PATH. */
export function envWith(configDir: string, ...binDirs: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: configDir };
  for (const name of ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"]) {
    delete env[name];
  }
  // The engine under test, when a project names another than Docker's default socket (podman).
  const socket = testEngineSocket(process.env);
  if (socket !== DOCKER_SOCKET) env.DOCKER_HOST = `unix://${socket}`;
  env.PATH = [...binDirs, process.env.PATH ?? ""].join(path.delimiter);
  return env;
}

/** Base64 of `user:password`, as `docker login` writes it into `auths`. */
export function basicAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, "utf8").toString("base64");
}

/** Decodes an `X-Registry-*` header the way the engine does (URL-safe base64, padding required). */
export function decodeHeader(header: string): unknown {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(header) || header.length % 4 !== 0) {
    throw new Error(`not padded URL-safe base64 (${header.length} characters)`);
  }
  return JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
}

/** The TLS files and flag of a context written by {@link writeContext}. */
export interface ContextTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly skipTlsVerify?: boolean;
}

/**
 * Writes a Docker context into a config folder's store exactly as `docker context create` lays it
 * out: `contexts/meta/<sha256 of name>/meta.json` and `contexts/tls/<sha256 of name>/docker/*.pem`.
 */
export async function writeContext(
  configDir: string,
  name: string,
  host: string,
  tls: ContextTls = {},
): Promise<void> {
  const id = createHash("sha256").update(name).digest("hex");
  const metaDir = path.join(configDir, "contexts", "meta", id);
  await mkdir(metaDir, { recursive: true });
  await writeFile(
    path.join(metaDir, "meta.json"),
    JSON.stringify({
      Name: name,
      Metadata: {},
      Endpoints: { docker: { Host: host, SkipTLSVerify: tls.skipTlsVerify ?? false } },
    }),
  );
  const tlsDir = path.join(configDir, "contexts", "tls", id, "docker");
  for (const part of ["ca", "cert", "key"] as const) {
    const file = tls[part];
    if (!file) continue;
    await mkdir(tlsDir, { recursive: true });
    await copyFile(file, path.join(tlsDir, `${part}.pem`));
  }
}

/**
 * Installs `docker-credential-<name>` as the given shell script (a real executable) in a new
 * temporary folder, and returns that folder, to put first on PATH. For helpers that misbehave:
 * sleep, flood, fail.
 */
export async function installScriptHelper(name: string, script: string): Promise<string> {
  const binDir = await tempDir("pdu-helper-");
  const program = path.join(binDir, `docker-credential-${name}`);
  await writeFile(program, `#!/bin/sh\n${script}\n`);
  await chmod(program, 0o755);
  return binDir;
}
