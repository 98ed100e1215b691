// No credential in any output: a child process runs every credential-carrying path with every debug
// namespace on but docker-modem's own (the engine requests of the library and of its dockerode
// client included) and prints all progress, results
// and errors; this test greps its whole stdout and stderr for the password in every encoding in
// which it travels.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { inspect } from "node:util";
import Docker from "dockerode";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { encodeRegistryHeader } from "../../../src/auth/registry-header.js";
import { authRegistry, pushWith } from "../../support/credentials/engine-ops.js";
import {
  basicAuth,
  dockerConfig,
  envWith,
  installHelper,
  tempDir,
} from "../../support/credentials/support.js";
import { testRepository } from "../support.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const CHILD = path.join(ROOT, "test/support/credentials/leak-run.ts");
const docker = new Docker({ socketPath: "/var/run/docker.sock" });

function run(
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every form in which the login travels or could be printed. */
function forbidden(username: string, password: string, host: string): string[] {
  const login = { username, password, serveraddress: host };
  const forms = [
    password,
    JSON.stringify(password).slice(1, -1),
    inspect(password).slice(1, -1),
    // Pieces between quotes and backslashes, in case some escaping splits the whole.
    ...password.split(/["'\\]/).filter((piece) => piece.length >= 6),
    encodeURIComponent(password),
    basicAuth(username, password),
    Buffer.from(`${username}:${password}`).toString("base64url"),
    Buffer.from(JSON.stringify(login)).toString("base64"),
    encodeRegistryHeader(login),
    encodeRegistryHeader({ [host]: login }),
  ];
  // Long encodings: a distinctive slice catches them even when line-wrapped or re-keyed.
  return [
    ...new Set(forms.flatMap((form) => (form.length > 40 ? [form, form.slice(8, 40)] : [form]))),
  ];
}

describe("credentials in output", () => {
  it("never appear in stdout, stderr, progress, errors or DEBUG logs", async () => {
    const registry = await authRegistry();
    const login = { username: registry.username, password: registry.password };

    const baseRepository = testRepository("leak-base");
    const repository = testRepository("leak");
    const base = `${registry.host}/${baseRepository}:1`;
    await docker
      .getImage("busybox:latest")
      .tag({ repo: `${registry.host}/${baseRepository}`, tag: "1" });
    const basePush = await pushWith(
      docker,
      base,
      encodeRegistryHeader({ ...login, serveraddress: registry.host }),
    );
    await docker.getImage(base).remove({ noprune: true });
    onTestFinished(async () => {
      // The child's builds pull the base again.
      await docker
        .getImage(base)
        .remove({ noprune: true })
        .catch(() => undefined);
    });
    expect(basePush.error).toBeUndefined();

    const helper = await installHelper("pdu-leak", {
      "helper.example": { Username: registry.username, Secret: registry.password },
      [registry.host]: { Username: registry.username, Secret: registry.password },
    });
    const config = await dockerConfig({
      auths: { [registry.host]: { auth: basicAuth(registry.username, registry.password) } },
      credHelpers: { "helper.example": "pdu-leak" },
      credsStore: "pdu-leak",
    });
    const badConfig = await tempDir("pdu-bad-config-");
    await writeFile(
      path.join(badConfig, "config.json"),
      `{"auths": {"${registry.host}": {"password": ${JSON.stringify(registry.password)}}},,}`,
    );

    const { code, stdout, stderr } = await run({
      ...envWith(config, helper.binDir),
      // Every namespace but docker-modem's own `modem`, which logs each request's options, headers
      // included, from dockerode's code (the README says so): the library reaches dockerode
      // through its public API only, and cannot change what it logs.
      DEBUG: "*,-modem",
      DEBUG_DEPTH: "20",
      PDU_REGISTRY: registry.host,
      PDU_PRIVATE_BASE: base,
      PDU_TEST_RUN: inject("testRun"),
      PDU_BAD_CONFIG: badConfig,
      PDU_REPOSITORY: repository,
    });
    const output = `${stdout}\n${stderr}`;

    // The run did what it should, so the grep below means something.
    expect(code, output.slice(-3000)).toBe(0);
    expect(stdout).toContain(`done: ${registry.host}/${repository}:1`);
    expect(stdout).toMatch(/^push: \{[\s\S]*error: undefined/m);
    // The repository's name holds only [a-z0-9/-]: nothing to escape.
    expect(stdout).toMatch(new RegExp(`^build: \\{[\\s\\S]*Pulling from ${baseRepository}`, "m"));
    expect(stdout).toContain("dockerode push: [");
    expect(stdout).toContain("dockerode build: [");
    expect(stdout).toContain("failing helper failed: CredentialsError");
    expect(stdout).toContain("garbage helper failed: CredentialsError");
    expect(stdout).toContain("broken config failed: InvalidArgumentError");
    expect(stderr).toMatch(/prefect-dockerutils:engine POST \/build/);
    expect(stderr).toMatch(/prefect-dockerutils:engine dockerode POST \/build/);
    expect(stderr).toContain("prefect-dockerutils:credentials");
    expect(stderr).toContain("prefect-dockerutils:engine");

    for (const form of forbidden(registry.username, registry.password, registry.host)) {
      expect(
        output.includes(form),
        `the output contains ${form.length} characters of a credential`,
      ).toBe(false);
    }
  });
});
