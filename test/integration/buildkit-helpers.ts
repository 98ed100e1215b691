/**
 * Support for the BuildKit integration tests: contexts in temporary folders, running a command
 * in a built image, a real ssh-agent, and the private base image of scripts/test-services.sh.
 * Everything made here is removed when the test (or file) that made it finishes.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { inject, onTestFinished } from "vitest";
import type { ProgressEvent } from "../../src/index.js";
import { tree } from "../support/files.js";
import { docker } from "./support.js";

const run = promisify(execFile);

/** The private base image scripts/test-services.sh pushes to the htpasswd registry. */
export const PRIVATE_BASE = "127.0.0.1:5556/pdu-buildkit/private-base:1";

/** How to fix a missing test service. */
export const HOW_TO_FIX = "Run `bash scripts/test-services.sh` (as root) to set it up.";

/** A new folder holding `files` (path → content; a trailing `/` makes a folder), removed after the test. */
export async function contextWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "pdu-bk-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return tree(dir, files);
}

/** Every event a build reports, and helpers to pick them. */
export function recorder() {
  const events: ProgressEvent[] = [];
  return {
    events,
    onProgress: (event: ProgressEvent) => {
      events.push(event);
    },
    /** The text of every RUN's output, joined. */
    output: () => events.map((event) => (event.type === "vertex-log" ? event.text : "")).join(""),
    /** The context-sync events of the `context` folder that listed entries. */
    contextSyncs: () =>
      events.filter(
        (event): event is Extract<ProgressEvent, { type: "context-sync" }> =>
          event.type === "context-sync" && event.dir === "context" && event.entries > 0,
      ),
  };
}

/**
 * Hands the BuildKit cache mounts whose description (`cached mount <target> from exec ...`) holds
 * `text` to the run's teardown, which prunes them before its leak check: they outlive the build,
 * and nothing else removes them. Not pruned when the test finishes: the engine's disk-usage walk,
 * which finding a mount's ID takes, and BuildKit's prune wait for each other and for the builds
 * that other test files run meanwhile, and a full run once saw the next build stall past its
 * two-minute timeout behind one.
 */
export async function removeCacheMountAtTeardown(text: string): Promise<void> {
  if (text.includes("\n")) throw new Error("a cache mount's text is one line");
  await appendFile(inject("testCacheMounts"), `${text}\n`);
}

/** A cache-busting build argument value. */
export const bust = () => `${Date.now()}-${Math.random()}`;

/** A running `ssh-agent` holding a fresh key with a unique comment, stopped after the file. */
export interface Agent {
  readonly socket: string;
  readonly comment: string;
  readonly folder: string;
  stop(): Promise<void>;
}

/** Starts a real ssh-agent (Debian's openssh-client) and adds a key generated here. */
export async function startAgent(): Promise<Agent> {
  const folder = await mkdtemp(path.join(tmpdir(), "pdu-bk-agent-"));
  const socket = path.join(folder, "agent.sock");
  let child: ChildProcess;
  try {
    child = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
  } catch (error) {
    throw new Error(`ssh-agent cannot start (${(error as Error).message}). ${HOW_TO_FIX}`);
  }
  const env = { ...process.env, SSH_AUTH_SOCK: socket };
  for (let tries = 0; ; tries++) {
    const status = await run("ssh-add", ["-l"], { env }).then(
      () => 0,
      (error: { code?: number }) => error.code ?? 2,
    );
    if (status === 1) break;
    if (tries > 100) throw new Error(`ssh-agent did not come up at ${socket}. ${HOW_TO_FIX}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const comment = `pdu-bk-key-${Date.now()}`;
  const key = path.join(folder, "key");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key]);
  await run("ssh-add", [key], { env });
  return {
    socket,
    comment,
    folder,
    async stop() {
      child.kill();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** The keys an agent holds, as `ssh-add -l` lists them. */
export function agentKeys(agent: Agent): string {
  return execFileSync("ssh-add", ["-l"], { env: { ...process.env, SSH_AUTH_SOCK: agent.socket } })
    .toString()
    .trim();
}

/**
 * Copies Debian's `ssh-add` and the libraries it needs into `dir/ssh`, so that a RUN in busybox
 * can ask the forwarded agent for its keys: `ssh/ld-linux-x86-64.so.2 --library-path ssh/lib ssh/ssh-add -l`.
 */
export async function addSshAdd(dir: string): Promise<void> {
  const { stdout } = await run("ldd", ["/usr/bin/ssh-add"]);
  const libraries = [...stdout.matchAll(/(\/\S+\.so[.\d]*)/g)].map((match) => match[1] as string);
  const { copyFile, mkdir } = await import("node:fs/promises");
  await mkdir(path.join(dir, "ssh/lib"), { recursive: true });
  await copyFile("/usr/bin/ssh-add", path.join(dir, "ssh/ssh-add"));
  for (const library of new Set(libraries)) {
    await copyFile(library, path.join(dir, "ssh/lib", path.basename(library)));
  }
}

/** Makes sure the private base image is not tagged in the engine, so that builds must pull it. */
export async function untagPrivateBase(): Promise<void> {
  await docker
    .getImage(PRIVATE_BASE)
    .remove({ noprune: true })
    .catch(() => undefined);
}
