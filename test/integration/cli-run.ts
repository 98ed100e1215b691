// Runs the prefect-dockerutils bin as a child process, from the repository's sources (through
// tsx, so no build is needed first), and makes the contexts its builds use.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { inject, onTestFinished } from "vitest";
import { docker, removeOwnImage, testRepository } from "./support.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
/** The bin's entry point in the sources. */
export const BIN = path.join(ROOT, "src/cli/main.ts");
const TSX = pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;

/** The command line that runs the bin: `node --import tsx src/cli/main.ts`. */
export const BIN_COMMAND: readonly string[] = [process.execPath, "--import", TSX, BIN];

/** What a finished run gave. */
export interface BinResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running bin. */
export interface RunningBin {
  readonly child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  readonly done: Promise<BinResult>;
}

/** Options of {@link startBin}. */
export interface BinOptions {
  readonly cwd?: string;
  /** Added to a copy of this process's environment (`undefined` removes a variable). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Killed (SIGKILL) after this long, so a hanging bin fails the test instead of the run. */
  readonly timeoutMs?: number;
}

/** The environment a bin runs with: this process's, without colour forcing, plus `extra`. */
export function binEnv(extra: BinOptions["env"] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: undefined, NO_COLOR: undefined };
  for (const [key, value] of Object.entries(extra)) env[key] = value;
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env;
}

/** Starts the bin with `args`; it is killed when the test finishes if it still runs. */
export function startBin(args: readonly string[], options: BinOptions = {}): RunningBin {
  const [command, ...prefix] = BIN_COMMAND as [string, ...string[]];
  const child = spawn(command, [...prefix, ...args], {
    cwd: options.cwd ?? ROOT,
    env: binEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 100_000);
  const done = new Promise<BinResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs the bin to its end. */
export function runBin(args: readonly string[], options: BinOptions = {}): Promise<BinResult> {
  return startBin(args, options).done;
}

/** Control characters other than the line feed: what plain output must never contain. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

/**
 * A Dockerfile's lines with the test run's label and a unique marker, so every image a test
 * builds is its own (never shared through the cache with another test) and the global teardown
 * sweeps it.
 */
export function dockerfileLines(...lines: string[]): string {
  const [from, ...rest] = lines;
  return `${[
    from ?? "FROM busybox",
    `LABEL io.prefect-dockerutils.test-run=${inject("testRun")} io.prefect-dockerutils.test-marker=${randomUUID()}`,
    ...rest,
  ].join("\n")}\n`;
}

/** A temporary folder holding `files` (path to content), removed when the test finishes. */
export async function contextWith(files: Readonly<Record<string, string>>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "pdu-cli-test-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

/** An empty temporary folder, removed when the test finishes. */
export async function emptyDir(prefix = "pdu-cli-tmp-"): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Files in a folder, recursively listed (for "nothing was left behind"). */
export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

/**
 * Removes an image the bin built, by its ID, when the test finishes (removeOwnImage): only for an
 * image that is the test's own (a Dockerfile of `dockerfileLines`, whose marker no other build
 * shares, or one holding the test's own folder). An image still tagged elsewhere, or used, stays;
 * the global teardown sweeps what carries the run label.
 */
export function removeImageAfterTest(imageId: string): void {
  onTestFinished(() => removeOwnImage(imageId));
}

/**
 * A unique image name, `localhost/` and a repository of the test's own in the run's namespace
 * (testRepository): its tags are removed from the engine, and from the registries it is pushed
 * to, when the test finishes.
 */
export function uniqueName(): string {
  const name = `localhost/${testRepository("cli")}`;
  onTestFinished(async () => {
    const images = await docker.listImages({ filters: JSON.stringify({ reference: [name] }) });
    for (const image of images) {
      for (const tag of image.RepoTags ?? []) {
        if (tag.startsWith(`${name}:`)) await removeOwnImage(tag);
      }
    }
  });
  return name;
}

/** Whether the engine knows `reference` (a tag or an ID). */
export async function imageExists(reference: string): Promise<boolean> {
  try {
    await docker.getImage(reference).inspect();
    return true;
  } catch {
    return false;
  }
}

/** The manifest digest the registry at 127.0.0.1:5555 holds for `name:tag`, if any. */
export async function registryDigest(name: string, tag: string): Promise<string | undefined> {
  const response = await fetch(`http://127.0.0.1:5555/v2/${name}/manifests/${tag}`, {
    method: "HEAD",
    headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
  });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`registry answered ${response.status} for ${name}:${tag}`);
  return response.headers.get("docker-content-digest") ?? undefined;
}

/** Resolves once `test()` holds, polling; rejects after `timeoutMs`. */
export async function until(
  what: string,
  test: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A loopback TCP server that records whether a connection came and whether it closed again. */
export async function connectionProbe(): Promise<{
  port: number;
  connected: () => boolean;
  closed: () => boolean;
}> {
  let connected = false;
  let closed = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connected = true;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.resume();
    socket.once("close", () => {
      closed = true;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    connected: () => connected,
    closed: () => closed,
  };
}
