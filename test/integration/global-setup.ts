import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import type { TestProject } from "vitest/node";
import { tokenRegistry } from "../support/credentials/engine-ops.js";
import { authorization } from "./registries.js";
import {
  danglingLeftovers,
  findLeaks,
  pruneHandedOverCacheMounts,
  type Run,
  sweep,
  watchRunImages,
} from "./run-leaks.js";
import { testEngineSocket } from "./test-engine.js";

/** The test registry without authentication, started by scripts/test-services.sh. */
export const REGISTRY = "127.0.0.1:5555";

/** The sshd in front of the engine, for ssh:// tests (scripts/test-services.sh). */
export const SSHD_PORT = 2222;

/** Where scripts/test-services.sh keeps the sshd's config, keys and the ssh client config. */
export const SSH_STATE = path.join(
  process.env.PDU_STATE_DIR ?? "/var/lib/prefect-dockerutils-test",
  "sshd",
);

const HOW_TO_FIX = "Run `bash scripts/test-services.sh` (as root) to install and start them.";

/** The first bytes the server at 127.0.0.1:`port` sends, or why there are none. */
function banner(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (text: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    const timer = setTimeout(() => done("no answer within 5 s"), 5000);
    socket.once("data", (chunk: Buffer) => done(chunk.toString("latin1")));
    socket.once("error", (error) => done(error.message));
  });
}

/**
 * The sshd must answer, and reach the engine for root with the test key, as the ssh:// tests
 * will: through the services script's ssh wrapper, running `docker` on the far side.
 */
async function checkSshd(): Promise<void> {
  const greeting = await banner(SSHD_PORT);
  if (!greeting.startsWith("SSH-2.0-")) {
    throw new Error(
      `Integration tests need the sshd at 127.0.0.1:${SSHD_PORT} for ssh:// engines, which did not answer (${greeting.trim()}). ${HOW_TO_FIX}`,
    );
  }
  const wrapper = path.join(SSH_STATE, "bin/ssh");
  try {
    await access(wrapper);
    await access(path.join(SSH_STATE, "ssh_config"));
  } catch {
    throw new Error(
      `Integration tests need the ssh client config and wrapper in ${SSH_STATE} (set PDU_STATE_DIR as for the services script). ${HOW_TO_FIX}`,
    );
  }
  const args = [
    "-T",
    "-l",
    "root",
    "-p",
    String(SSHD_PORT),
    "--",
    "127.0.0.1",
    "docker",
    "version",
  ];
  await promisify(execFile)(wrapper, args, { timeout: 30_000 }).catch((error: Error) => {
    throw new Error(
      `Integration tests need \`${wrapper} ${args.join(" ")}\` to reach the engine through the sshd, which failed (${error.message.trim()}). ${HOW_TO_FIX}`,
    );
  });
}

/**
 * Fails the whole integration run, loudly, when the real services are not there: integration
 * tests never skip.
 */
export default async function setup(project: TestProject) {
  // The project's own environment (the podman project names Podman's socket in DOCKER_HOST).
  const socket = testEngineSocket({ ...process.env, ...project.config.env });
  const docker = new Docker({ socketPath: socket });
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `Integration tests need the engine at unix://${socket}, which did not answer (${(error as Error).message}). ${HOW_TO_FIX}`,
    );
  }
  try {
    await docker.getImage("busybox:latest").inspect();
  } catch {
    throw new Error(
      `Integration tests need the base image busybox:latest, which is missing. ${HOW_TO_FIX}`,
    );
  }
  for (const registry of [REGISTRY, "127.0.0.1:5556"]) {
    const response = await fetch(`http://${registry}/v2/`).catch((error: Error) => error);
    if (response instanceof Error || (response.status !== 200 && response.status !== 401)) {
      throw new Error(
        `Integration tests need the registry at http://${registry}, which did not answer (${response instanceof Error ? response.message : response.status}). ${HOW_TO_FIX}`,
      );
    }
  }
  await checkSshd();
  await checkTokenRegistry();
  const root = await mkdtemp(path.join(tmpdir(), "pdu-run-"));
  const run: Run = {
    id: randomUUID(),
    // The run's own TMPDIR (setup-run.ts): what is left in it at the end leaked.
    tmp: path.join(root, "tmp"),
    parents: path.join(root, "parents"),
    removed: path.join(root, "removed"),
    cacheMounts: path.join(root, "cache-mounts"),
    startedAt: Math.floor(Date.now() / 1000) - 1,
  };
  await mkdir(run.tmp);
  await writeFile(run.parents, "");
  await writeFile(run.removed, "");
  await writeFile(run.cacheMounts, "");
  project.provide("testRun", run.id);
  project.provide("testTmp", run.tmp);
  project.provide("testParents", run.parents);
  project.provide("sshState", SSH_STATE);
  project.provide("testRemoved", run.removed);
  project.provide("testCacheMounts", run.cacheMounts);
  const images = await watchRunImages(docker, run);

  return async () => {
    // Whatever the tests should have removed themselves fails the run, then everything the run
    // made is removed, leaked or not, and what is still dangling after that fails it too. A throw
    // here would only be printed (vitest reports teardown errors but still exits 0), so every
    // step that fails is a finding too: a leak check that cannot look must not pass.
    const watched = await images.stop().catch((error: Error) => error);
    // First the cache mounts tests handed over: pruned now, when no build runs beside the prune.
    const handedOver = await pruneHandedOverCacheMounts(docker, run).then(
      () => [],
      (error: Error) => [`could not be pruned: ${error.message}`],
    );
    const leaks: Record<string, string[]> = await findLeaks(
      docker,
      run,
      watched instanceof Error ? undefined : watched,
    ).catch((error: Error) => ({ "the leak check": [`could not run: ${error.message}`] }));
    leaks["the cache mounts tests handed over"] = handedOver;
    if (watched instanceof Error) {
      leaks["the watch of the run's images"] = [
        `broke off (${watched.message}): images deleted meanwhile cannot be vouched for`,
      ];
    }
    leaks["the sweep"] = await sweep(docker, run).catch((error: Error) => [
      `could not finish: ${error.message}`,
    ]);
    leaks["dangling images left after the sweep"] = await danglingLeftovers(docker, run).catch(
      (error: Error) => [`could not be listed: ${error.message}`],
    );
    await rm(root, { recursive: true, force: true });
    const found = Object.entries(leaks).filter(([, items]) => items.length > 0);
    if (found.length > 0) {
      console.error(
        `\nThe integration run left these behind (now removed), or could not check for them:\n${found
          .map(([kind, items]) => `  ${kind}:\n${items.map((item) => `    ${item}`).join("\n")}`)
          .join("\n")}\n`,
      );
      process.exitCode = 1;
    }
  };
}

/**
 * The bearer-token registry and its token server: the registry must answer with a Bearer
 * challenge, and its token server must issue a token the registry accepts for the test login.
 */
async function checkTokenRegistry(): Promise<void> {
  const registry = await tokenRegistry();
  const response = await fetch(`http://${registry.host}/v2/`).catch((error: Error) => error);
  const challenge =
    response instanceof Error ? "" : (response.headers.get("www-authenticate") ?? "");
  if (response instanceof Error || response.status !== 401 || !challenge.startsWith("Bearer ")) {
    throw new Error(
      `Integration tests need the token registry at http://${registry.host} (docker-registry with auth: token), which did not answer with a Bearer challenge (${response instanceof Error ? response.message : `${response.status} ${challenge}`}). ${HOW_TO_FIX}`,
    );
  }
  try {
    const headers = await authorization(
      { host: registry.host, login: registry, bearer: true },
      "repository:pdu-setup/check:pull",
    );
    const checked = await fetch(`http://${registry.host}/v2/`, { headers });
    if (checked.status !== 200)
      throw new Error(`the registry answered ${checked.status} to its token`);
  } catch (error) {
    throw new Error(
      `Integration tests need the token server of the token registry (${challenge}), which did not issue a token the registry accepts: ${(error as Error).message}. ${HOW_TO_FIX}`,
    );
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The run's id, the value of every image's and container's run label. */
    testRun: string;
    /** The run's own temporary folder, the TMPDIR of every test and process it starts. */
    testTmp: string;
    /** The file where tests note the parent layers of the images they remove (removeOwnImage). */
    testParents: string;
    /** scripts/test-services.sh's sshd folder: ssh_config, keys, bin/ssh. */
    sshState: string;
    /** The file where tests note the images they removed themselves (removeOwnImage). */
    testRemoved: string;
    /** The file where tests hand the teardown their BuildKit cache mounts (by description text). */
    testCacheMounts: string;
  }
}
