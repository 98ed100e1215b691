// What a BuildKit build through the library puts into the image, compared with the classic
// builder's and with the docker CLI's own BuildKit build (`DOCKER_BUILDKIT=1 /usr/bin/docker
// build`, Debian's 20.10 client) of the same context, for the file-sync requests that used to go
// wrong: a non-ASCII `.dockerignore` line (the engine sends its raw UTF-8 bytes), hundreds of
// patterns (one HTTP/2 header field each), patterns holding commas, and a COPY of more sources
// than Node's default 128 header fields.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildImage } from "../../../src/index.js";
import { contextWith } from "../buildkit-helpers.js";
import { runImage, TEST_RUN } from "../support.js";

const run = promisify(execFile);

/** Every path under /ctx of an image, with its type and mode, sorted. */
async function listing(imageId: string): Promise<string[]> {
  const out = await runImage(imageId, [
    "sh",
    "-c",
    "cd /ctx && find . | sort | while read -r p; do stat -c '%A %n' \"$p\"; done",
  ]);
  return out.trim().split("\n");
}

/**
 * The docker CLI's BuildKit build of `context`, labelled so the run's teardown removes it. Tried
 * up to three times, two seconds apart, on BuildKit's race in a COPY of many sources under load
 * (moby/buildkit#1822; the library retries it too): the CLI is the reference here, not what is
 * tested, and a full test run once hit the race twice in a row.
 */
async function cliBuild(context: string, tries = 3): Promise<string> {
  try {
    return await cliBuildOnce(context);
  } catch (error) {
    if (tries > 1 && String((error as { stderr?: unknown }).stderr).includes("flightcontrol")) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      return cliBuild(context, tries - 1);
    }
    throw error;
  }
}

async function cliBuildOnce(context: string): Promise<string> {
  const { stdout } = await run(
    "/usr/bin/docker",
    [
      "build",
      "-q",
      "--network",
      "host",
      "--no-cache",
      "--label",
      `io.prefect-dockerutils.test-run=${TEST_RUN}`,
      "--label",
      `io.prefect-dockerutils.test-id=${randomUUID()}`,
      context,
    ],
    { env: { ...process.env, DOCKER_BUILDKIT: "1" }, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout.trim();
}

/** The three listings of `context`: the library's BuildKit build, the classic one, the CLI's. */
async function threeWays(context: string) {
  const kit = await buildImage(context, {
    builder: "buildkit",
    networkMode: "none",
    noCache: true,
  });
  const classic = await buildImage(context, {
    builder: "classic",
    networkMode: "none",
    noCache: true,
  });
  const cli = await cliBuild(context);
  return {
    buildkit: await listing(kit),
    classic: await listing(classic),
    cli: await listing(cli),
  };
}

const COPY_ALL = "FROM busybox:latest\nCOPY . /ctx\n";

describe("BuildKit file sync against the classic builder and the docker CLI", () => {
  it("excludes every .dockerignore line when one of them is not ASCII", async () => {
    const context = await contextWith({
      Dockerfile: COPY_ALL,
      ".dockerignore": ".env\n*.pem\nnotes-café.txt\n",
      ".env": "TOKEN=secret\n",
      "server.pem": "-----BEGIN PRIVATE KEY-----\n",
      "notes-café.txt": "private\n",
      "café/menu.txt": "kept\n",
      "keep.txt": "kept\n",
    });
    const { buildkit, classic, cli } = await threeWays(context);
    expect(classic).toContain("-rw-r--r-- ./keep.txt");
    expect(classic).toContain("-rw-r--r-- ./café/menu.txt");
    expect(classic.join("\n")).not.toMatch(/\.env|\.pem|notes-caf/);
    expect(cli).toEqual(classic);
    expect(buildkit).toEqual(classic);
  });

  it("applies a .dockerignore of 300 patterns", async () => {
    const files: Record<string, string> = { Dockerfile: COPY_ALL };
    const patterns: string[] = [];
    for (let index = 0; index < 300; index++) {
      const name = `ignored-${String(index).padStart(3, "0")}`;
      patterns.push(index % 2 === 0 ? `${name}.txt` : `dir-${index}/`);
      files[index % 2 === 0 ? `${name}.txt` : `dir-${index}/inner.txt`] = "secret\n";
      files[`kept-${index}.txt`] = "kept\n";
    }
    files[".dockerignore"] = `${patterns.join("\n")}\n`;
    const context = await contextWith(files);
    const { buildkit, classic, cli } = await threeWays(context);
    expect(classic).toContain("-rw-r--r-- ./kept-299.txt");
    expect(classic.join("\n")).not.toMatch(/ignored-|dir-/);
    expect(cli).toEqual(classic);
    expect(buildkit).toEqual(classic);
  });

  it("keeps patterns that hold commas whole", async () => {
    const context = await contextWith({
      Dockerfile: COPY_ALL,
      // Go's filepath.Match has no braces: each line names one file, commas and all.
      ".dockerignore": "x.{key,pem}\nsecrets, old/\na,b\n",
      "x.{key,pem}": "private\n",
      "x.key": "kept\n",
      "secrets, old/token": "private\n",
      "secrets/kept.txt": "kept\n",
      "a,b": "private\n",
      a: "kept\n",
      b: "kept\n",
    });
    const { buildkit, classic, cli } = await threeWays(context);
    expect(classic).toEqual([
      "drwxr-xr-x .",
      "-rw-r--r-- ./.dockerignore",
      "-rw-r--r-- ./Dockerfile",
      "-rw-r--r-- ./a",
      "-rw-r--r-- ./b",
      "drwxr-xr-x ./secrets",
      "-rw-r--r-- ./secrets/kept.txt",
      "-rw-r--r-- ./x.key",
    ]);
    expect(cli).toEqual(classic);
    expect(buildkit).toEqual(classic);
  });

  it("copies more sources than 128 header fields hold", async () => {
    const files: Record<string, string> = {};
    const sources: string[] = [];
    for (let index = 0; index < 150; index++) {
      const name = `source-${String(index).padStart(3, "0")}.txt`;
      sources.push(name);
      files[name] = `${index}\n`;
    }
    files["not-copied.txt"] = "left out\n";
    files.Dockerfile = `FROM busybox:latest\nCOPY ${sources.join(" ")} /ctx/\n`;
    const context = await contextWith(files);
    const { buildkit, classic, cli } = await threeWays(context);
    expect(classic).toHaveLength(151);
    expect(classic).toContain("-rw-r--r-- ./source-149.txt");
    expect(cli).toEqual(classic);
    expect(buildkit).toEqual(classic);
  });
});
