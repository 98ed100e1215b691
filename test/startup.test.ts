// Importing the package must stay light (issue 8): the heavy dependencies load when an operation
// needs them, not at `import "prefect-dockerutils"`. Observed in a fresh process: which packages
// Node's module loader holds after the import, and after the first dockerClient() call (from
// prefect-dockerutils/dockerode).
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..");

/** Packages that must not load at import: dockerode and what it pulls in. */
const HEAVY = ["dockerode", "docker-modem", "ssh2", "@grpc/grpc-js", "protobufjs"];

/**
 * The packages under node_modules that a child process has loaded after running `script`, and its
 * stderr. `DEBUG` is unset unless `env` sets it; `before` runs before the package is imported.
 */
async function runChild(
  script: string,
  env: NodeJS.ProcessEnv = {},
  before = "",
): Promise<{ loaded: string[]; stderr: string }> {
  const program = `
    import { createRequire } from "node:module";
    ${before}
    const api = await import(${JSON.stringify(path.join(ROOT, "src/index.ts"))});
    ${script}
    const cache = createRequire(import.meta.url).cache;
    const names = new Set();
    for (const file of Object.keys(cache)) {
      const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file.replaceAll("\\\\", "/"));
      if (match) names.add(match[1]);
    }
    process.stdout.write(JSON.stringify([...names]));
  `;
  const { DEBUG: _, ...inherited } = process.env;
  const { stdout, stderr } = await run(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", program],
    { cwd: ROOT, env: { ...inherited, DOCKER_HOST: "unix:///tmp/pdu-startup.sock", ...env } },
  );
  return { loaded: JSON.parse(stdout) as string[], stderr };
}

async function loadedPackages(script: string): Promise<string[]> {
  return (await runChild(script)).loaded;
}

describe("importing the package", () => {
  it("loads none of dockerode, docker-modem, ssh2, grpc-js and protobufjs", async () => {
    const loaded = await loadedPackages("");
    for (const name of HEAVY) expect(loaded).not.toContain(name);
  });

  it("loads dockerode at the first dockerClient() call, so the check above can see it", async () => {
    const entry = JSON.stringify(path.join(ROOT, "src/dockerode.ts"));
    const loaded = await loadedPackages(`(await import(${entry})).dockerClient();`);
    expect(loaded).toContain("dockerode");
    expect(loaded).toContain("docker-modem");
  });

  it("checks the engine, builds and pushes without dockerode", async () => {
    const tiny = path.join(ROOT, "test/fixtures/contexts/tiny");
    const loaded = await loadedPackages(
      `await api.checkEngine().catch(() => undefined);
       await api.buildImage(${JSON.stringify(tiny)}).catch(() => undefined);
       await api.pushImage("busybox", "http://127.0.0.1:5555", "x").catch(() => undefined);`,
    );
    for (const name of HEAVY) expect(loaded).not.toContain(name);
  });
});

describe("debug logging", () => {
  // checkEngine logs its request through the "prefect-dockerutils:engine" namespace.
  const check = "await api.checkEngine().catch(() => undefined);";

  it("does not load debug when DEBUG is unset and nothing else loaded it", async () => {
    const { loaded, stderr } = await runChild(check);
    expect(loaded).not.toContain("debug");
    expect(stderr).not.toContain("prefect-dockerutils:engine");
  });

  it("logs when DEBUG names our namespaces", async () => {
    const { loaded, stderr } = await runChild(check, { DEBUG: "prefect-dockerutils:*" });
    expect(loaded).toContain("debug");
    expect(stderr).toContain("prefect-dockerutils:engine GET /_ping");
  });

  it("logs when DEBUG is set after the import, before the first log", async () => {
    const { stderr } = await runChild(`process.env.DEBUG = "prefect-dockerutils:*"; ${check}`);
    expect(stderr).toContain("prefect-dockerutils:engine GET /_ping");
  });

  it("logs when the program enables our namespaces on the same debug package itself", async () => {
    const { stderr } = await runChild(
      check,
      {},
      `createRequire(import.meta.url)("debug").enable("prefect-dockerutils:*");`,
    );
    expect(stderr).toContain("prefect-dockerutils:engine GET /_ping");
  });
});
