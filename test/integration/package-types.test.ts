// Issue 12: the published types resolve from a plain install. The package is built and packed as
// `npm publish` would, installed from the tarball into a new consumer project (from npm's cache
// when it has the packages, which `npm ci` filled; else from the registry), and a consumer file is
// compiled with `strict` and `skipLibCheck: false`.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");

let work: string;
let consumer: string;

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run("npm", args, {
    cwd,
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "pdu-pack-"));
  // A copy of the package as it would be published: package.json, README and a fresh build.
  const pkgDir = path.join(work, "package");
  await cp(path.join(ROOT, "package.json"), path.join(pkgDir, "package.json"));
  await cp(path.join(ROOT, "README.md"), path.join(pkgDir, "README.md"));
  await run(process.execPath, [
    TSC,
    "-p",
    path.join(ROOT, "tsconfig.build.json"),
    "--outDir",
    path.join(pkgDir, "dist"),
  ]);
  await npm(["pack", "--pack-destination", work], pkgDir);
  const tarball = (await readdir(work)).find((name) => name.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack made no tarball in ${work}`);

  const own = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  consumer = path.join(work, "consumer");
  await cp(path.join(ROOT, "test/fixtures/consumer"), consumer, { recursive: true });
  await writeFile(
    path.join(consumer, "package.json"),
    JSON.stringify({
      name: "pdu-consumer",
      private: true,
      type: "module",
      dependencies: {
        "prefect-dockerutils": `file:../${tarball}`,
        typescript: own.devDependencies.typescript,
        "@types/node": own.devDependencies["@types/node"],
      },
    }),
  );
  await npm(
    ["install", "--prefer-offline", "--no-audit", "--ignore-scripts", "--no-package-lock"],
    consumer,
  );
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("compiles a strict consumer with skipLibCheck off, with dockerClient() typed (not any)", async () => {
    const result = await run(process.execPath, [TSC, "-p", consumer, "--noEmit"]).then(
      ({ stdout }) => ({ ok: true, stdout }),
      (error: { stdout?: string; stderr?: string }) => ({
        ok: false,
        stdout: `${error.stdout ?? ""}${error.stderr ?? ""}`,
      }),
    );
    expect(result.stdout).toBe("");
    expect(result.ok).toBe(true);
    const config = JSON.parse(await readFile(path.join(consumer, "tsconfig.json"), "utf8"));
    expect(config.compilerOptions).toMatchObject({ strict: true, skipLibCheck: false });
  }, 120_000);

  it("fails that compile when a type goes missing, so the check above means something", async () => {
    await writeFile(
      path.join(consumer, "broken.ts"),
      'import { pushImage } from "prefect-dockerutils";\nconst n: number = await pushImage("a", "http://h:1", "b");\nexport { n };\n',
    );
    try {
      const error = await run(process.execPath, [TSC, "-p", consumer, "--noEmit"]).catch(
        (e: { stdout?: string }) => e,
      );
      expect((error as { stdout?: string }).stdout ?? "").toContain("TS2322");
    } finally {
      await rm(path.join(consumer, "broken.ts"));
    }
  }, 120_000);
});
