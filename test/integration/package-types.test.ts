// Issues 12 and 18: the published types resolve from a plain install, with and without the
// optional peer dependency dockerode. The package is built and packed as `npm publish` would,
// installed from the tarball into two new consumer projects (from npm's cache when it has the
// packages, which `npm ci` filled; else from the registry): one with only TypeScript and
// @types/node, one that also installs dockerode and @types/dockerode. Each compiles a consumer
// file with `strict` and `skipLibCheck: false`, and runs dockerClient().
import { execFile } from "node:child_process";
import { access, cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");

let work: string;
let tarball: string;
/** Consumer projects by fixture name: `consumer` (no dockerode), `consumer-dockerode`. */
const consumers = new Map<string, string>();

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run("npm", args, {
    cwd,
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Compiles a consumer project; resolves to tsc's output and whether it passed. */
function compile(project: string): Promise<{ ok: boolean; output: string }> {
  return run(process.execPath, [TSC, "-p", project, "--noEmit"]).then(
    ({ stdout }) => ({ ok: true, output: stdout }),
    (error: { stdout?: string; stderr?: string }) => ({
      ok: false,
      output: `${error.stdout ?? ""}${error.stderr ?? ""}`,
    }),
  );
}

/** A consumer project from a fixture folder, with the tarball and `extra` dependencies installed. */
async function consumer(fixture: string, extra: Record<string, string>): Promise<string> {
  const own = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  const dir = path.join(work, fixture);
  await cp(path.join(ROOT, "test/fixtures", fixture), dir, { recursive: true });
  await writeFile(
    path.join(dir, "package.json"),
    JSON.stringify({
      name: `pdu-${fixture}`,
      private: true,
      type: "module",
      dependencies: {
        "prefect-dockerutils": `file:../${tarball}`,
        typescript: own.devDependencies.typescript,
        "@types/node": own.devDependencies["@types/node"],
        ...Object.fromEntries(
          Object.keys(extra).map((name) => [name, own.devDependencies[name] ?? extra[name]]),
        ),
      },
    }),
  );
  await npm(
    ["install", "--prefer-offline", "--no-audit", "--ignore-scripts", "--no-package-lock"],
    dir,
  );
  return dir;
}

/** Runs an ES module in a consumer project; resolves to what it printed. */
async function runIn(dir: string, source: string): Promise<string> {
  await writeFile(path.join(dir, "run.mjs"), source);
  const { stdout } = await run(process.execPath, [path.join(dir, "run.mjs")], { cwd: dir });
  return stdout;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "pdu-pack-"));
  // A copy of the package as it would be published: package.json, README and a fresh build.
  const pkgDir = path.join(work, "package");
  await cp(path.join(ROOT, "package.json"), path.join(pkgDir, "package.json"));
  await cp(path.join(ROOT, "README.md"), path.join(pkgDir, "README.md"));
  await run(process.execPath, [
    path.join(ROOT, "scripts/build.mjs"),
    "--out-dir",
    path.join(pkgDir, "dist"),
  ]);
  await npm(["pack", "--pack-destination", work], pkgDir);
  const packed = (await readdir(work)).find((name) => name.endsWith(".tgz"));
  if (!packed) throw new Error(`npm pack made no tarball in ${work}`);
  tarball = packed;
  consumers.set("consumer", await consumer("consumer", {}));
  consumers.set(
    "consumer-dockerode",
    await consumer("consumer-dockerode", { dockerode: "*", "@types/dockerode": "*" }),
  );
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("installs without dockerode, docker-modem, ssh2 or any @types/ package", async () => {
    const dir = consumers.get("consumer") as string;
    const installed = await readdir(path.join(dir, "node_modules"));
    for (const name of ["dockerode", "docker-modem", "ssh2", "cpu-features"]) {
      expect(installed).not.toContain(name);
    }
    const types = await readdir(path.join(dir, "node_modules/@types"));
    // What the consumer itself installed: @types/node, and what that needs (undici-types is no @types).
    expect(types).toEqual(["node"]);
    const manifest = JSON.parse(
      await readFile(path.join(dir, "node_modules/prefect-dockerutils/package.json"), "utf8"),
    ) as { dependencies: Record<string, string>; peerDependenciesMeta: Record<string, unknown> };
    expect(Object.keys(manifest.dependencies).filter((name) => name.startsWith("@types/"))).toEqual(
      [],
    );
    expect(manifest.peerDependenciesMeta).toMatchObject({ dockerode: { optional: true } });
  });

  it.each([
    ["without dockerode", "consumer"],
    ["with dockerode and @types/dockerode", "consumer-dockerode"],
  ])(
    "compiles a strict consumer %s with skipLibCheck off",
    async (_case, fixture) => {
      const dir = consumers.get(fixture) as string;
      const result = await compile(dir);
      expect(result.output).toBe("");
      expect(result.ok).toBe(true);
      const config = JSON.parse(await readFile(path.join(dir, "tsconfig.json"), "utf8"));
      expect(config.compilerOptions).toMatchObject({ strict: true, skipLibCheck: false });
    },
    120_000,
  );

  it("fails that compile when a type goes missing, so the checks above mean something", async () => {
    const dir = consumers.get("consumer") as string;
    await writeFile(
      path.join(dir, "broken.ts"),
      'import { pushImage } from "prefect-dockerutils";\nconst n: number = await pushImage("a", "http://h:1", "b");\nexport { n };\n',
    );
    try {
      const result = await compile(dir);
      expect(result.output).toContain("TS2322");
    } finally {
      await rm(path.join(dir, "broken.ts"));
    }
  }, 120_000);

  it("needs dockerode's types for prefect-dockerutils/dockerode alone", async () => {
    const dir = consumers.get("consumer") as string;
    await writeFile(
      path.join(dir, "subpath.ts"),
      'import { dockerClient } from "prefect-dockerutils/dockerode";\nexport const docker = dockerClient();\n',
    );
    try {
      const result = await compile(dir);
      expect(result.ok).toBe(false);
      expect(result.output).toMatch(/docker-client\.d\.ts.*Cannot find module 'dockerode'/);
    } finally {
      await rm(path.join(dir, "subpath.ts"));
    }
  }, 120_000);

  it("makes dockerClient() throw MissingDependencyError saying `npm install dockerode` without it", async () => {
    const dir = consumers.get("consumer") as string;
    await expect(access(path.join(dir, "node_modules/dockerode"))).rejects.toThrow();
    const printed = await runIn(
      dir,
      `import { dockerClient } from "prefect-dockerutils/dockerode";
       import { MissingDependencyError, resolveEngine } from "prefect-dockerutils";
       try { dockerClient(); console.log("no error"); }
       catch (error) {
         console.log(JSON.stringify({ name: error.name, code: error.code, dependency: error.dependency,
           message: error.message, isIt: error instanceof MissingDependencyError }));
       }
       console.log(resolveEngine({ env: {} }).url);`,
    );
    const [first, second] = printed.trim().split("\n");
    expect(JSON.parse(first as string)).toEqual({
      name: "MissingDependencyError",
      code: "ERR_DOCKER_MISSING_DEPENDENCY",
      dependency: "dockerode",
      message: expect.stringContaining("npm install dockerode"),
      isIt: true,
    });
    expect(second).toBe("unix:///var/run/docker.sock");
  });

  it("gives a working dockerode client with dockerode installed", async () => {
    const dir = consumers.get("consumer-dockerode") as string;
    const printed = await runIn(
      dir,
      `import { dockerClient } from "prefect-dockerutils/dockerode";
       import { checkEngine } from "prefect-dockerutils";
       const docker = dockerClient();
       console.log(typeof (await docker.version()).ApiVersion, (await checkEngine({ docker })).url);`,
    );
    expect(printed.trim()).toBe("string unix:///var/run/docker.sock");
  });
});
