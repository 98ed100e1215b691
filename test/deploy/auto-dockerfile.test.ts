// persist_dockerfile writes only inside the project: every component of dockerfile_output_path
// is resolved there, and a path that leads out of it (a symlinked folder, `..`, an absolute
// path elsewhere) is refused before anything is written or truncated.
import { execFileSync } from "node:child_process";
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { autoDockerfileLines, persistDockerfile } from "../../src/deploy/auto-dockerfile.js";
import { dockerClient } from "../../src/dockerode.js";
import {
  EngineUnreachableError,
  generateDefaultDockerfile,
  InvalidArgumentError,
} from "../../src/index.js";
import { buildDockerImage } from "../../src/steps.js";
import { tempDir, tree } from "../support/files.js";

/** An engine that is not there: the build after persisting fails, which these tests expect. */
const quiet = {
  streamProgressTo: null,
  retries: 0,
  docker: dockerClient({ env: { DOCKER_HOST: "unix:///tmp/pdu-auto-dockerfile-no-engine.sock" } }),
  env: {},
} as const;

/** A project beside a victim folder holding notes.txt and .bashrc, which must stay as they are. */
async function projectAndVictim() {
  const root = await tempDir();
  const victim = await tree(path.join(root, "victim"), {
    "notes.txt": "the victim's notes\n",
    ".bashrc": "export PS1='victim$ '\n",
  });
  const project = await tree(path.join(root, "project"), { "flow.py": "print('hi')\n" });
  await symlink(victim, path.join(project, "home"));
  await mkdir(path.join(project, "sub"));
  await symlink(victim, path.join(project, "sub", "deeper"));
  const snapshot = async () => {
    const files = (await readdir(victim)).sort();
    const contents = await Promise.all(
      files.map(async (name) => {
        const info = await stat(path.join(victim, name));
        return [name, await readFile(path.join(victim, name), "utf8"), info.mtimeMs] as const;
      }),
    );
    return contents;
  };
  return { root, victim, project, before: await snapshot(), snapshot };
}

describe("persist_dockerfile", () => {
  it.each([
    ["a symlinked folder", "home/.bashrc"],
    ["a symlinked folder deeper down", "sub/deeper/notes.txt"],
    ["a new file in a symlinked folder", "home/new.Dockerfile"],
    ["a path climbing out", "../victim/notes.txt"],
    ["a path climbing out and back", "sub/../../victim/.bashrc"],
  ])("refuses %s (%s) and writes nothing outside the project", async (_what, output) => {
    const { project, before, snapshot } = await projectAndVictim();
    const error = await buildDockerImage(
      {
        image_name: "repo",
        dockerfile: "auto",
        persist_dockerfile: true,
        dockerfile_output_path: output,
        path: project,
        ignore_cache: true,
      },
      quiet,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain("dockerfile_output_path");
    expect((error as Error).message).toContain(JSON.stringify(output));
    expect(await snapshot()).toEqual(before);
    expect((await readdir(project)).sort()).toEqual(["flow.py", "home", "sub"]);
  });

  it("refuses an absolute path outside the project", async () => {
    const { victim, project, before, snapshot } = await projectAndVictim();
    const output = path.join(victim, "notes.txt");
    const error = await buildDockerImage(
      {
        image_name: "repo",
        dockerfile: "auto",
        persist_dockerfile: true,
        dockerfile_output_path: output,
        path: project,
        ignore_cache: true,
      },
      quiet,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(await snapshot()).toEqual(before);
  });

  it("writes inside the project, also through a link that stays in it, then builds", async () => {
    const { project, before, snapshot } = await projectAndVictim();
    await mkdir(path.join(project, "docker"));
    await symlink("docker", path.join(project, "generated"));
    for (const output of [
      "Dockerfile.generated",
      "generated/Dockerfile",
      "docker/../Dockerfile.b",
    ]) {
      // The engine is not there, so the build fails after the Dockerfile was written.
      await expect(
        buildDockerImage(
          {
            image_name: "repo",
            dockerfile: "auto",
            persist_dockerfile: true,
            dockerfile_output_path: output,
            path: project,
            ignore_cache: true,
          },
          quiet,
        ),
      ).rejects.toThrow(EngineUnreachableError);
    }
    expect(await readFile(path.join(project, "Dockerfile.generated"), "utf8")).toMatch(/^FROM /);
    expect(await readFile(path.join(project, "docker", "Dockerfile"), "utf8")).toMatch(/^FROM /);
    expect(await readFile(path.join(project, "Dockerfile.b"), "utf8")).toMatch(/^FROM /);
    expect((await lstat(path.join(project, "generated"))).isSymbolicLink()).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it("says what to do when the folder does not exist", async () => {
    const project = await tree(await tempDir(), { "flow.py": "" });
    await expect(
      persistDockerfile(project, "no/such/folder/Dockerfile", ["FROM x"]),
    ).rejects.toThrow(/dockerfile_output_path "no\/such\/folder\/Dockerfile".*does not exist/);
  });

  it("refuses a project folder that is itself reached through a link only when the target leaves it", async () => {
    // The project given through a link is fine: what counts is where the output lands.
    const root = await tempDir();
    const real = await tree(path.join(root, "real"), { "flow.py": "" });
    await symlink(real, path.join(root, "alias"));
    await persistDockerfile(path.join(root, "alias"), "Dockerfile.generated", ["FROM busybox"]);
    expect(await readFile(path.join(real, "Dockerfile.generated"), "utf8")).toBe("FROM busybox\n");
    await writeFile(path.join(root, "outside.txt"), "mine\n");
    await expect(
      persistDockerfile(path.join(root, "alias"), "../outside.txt", ["FROM x"]),
    ).rejects.toThrow(InvalidArgumentError);
    expect(await readFile(path.join(root, "outside.txt"), "utf8")).toBe("mine\n");
  });
});

describe("autoDockerfileLines", () => {
  it.each(["flows;id", "flows&&id", "flows|id", "flows*", "flows>out", "flows(1)"])(
    "quotes the requirements path of a folder named %j so that sh runs no other command",
    async (name) => {
      const flows = await tree(path.join(await tempDir(), name), { "requirements.txt": "" });
      const lines = await autoDockerfileLines(flows, { baseImage: "busybox" });
      const run = lines.find((line) => line.startsWith("RUN "));
      expect(run).toBe(`RUN uv pip install -r '/opt/prefect/${name}/requirements.txt'`);
      // sh reads the word back as the one path.
      const word = (run as string).slice("RUN uv pip install -r ".length);
      expect(execFileSync("sh", ["-c", `printf %s ${word}`], { encoding: "utf8" })).toBe(
        `/opt/prefect/${name}/requirements.txt`,
      );
    },
  );

  it.each(["flows", "my flows", "it's my $flows", "flows;id", "-flows", "é"])(
    "writes for a folder named %j the lines generateDefaultDockerfile writes",
    async (name) => {
      const flows = await tree(path.join(await tempDir(), name), { "requirements.txt": "" });
      const lines = await autoDockerfileLines(flows, { baseImage: "busybox" });
      await using generated = await generateDefaultDockerfile(flows, { baseImage: "busybox" });
      expect(lines.map((line) => `${line}\n`).join("")).toBe(
        await readFile(generated.path, "utf8"),
      );
    },
  );
});
