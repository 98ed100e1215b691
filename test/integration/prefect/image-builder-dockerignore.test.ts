// ImageBuilder.copy() of a folder applies that folder's .dockerignore, on both builders of the
// real engine, as `docker build` of the folder does: .env, logs and excluded folders stay out of
// the image. The files in each image are listed by running it, and compared with what
// buildImage sends for the same folder (whose .dockerignore handling matches the docker CLI's).
import { randomUUID } from "node:crypto";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BuildContextError,
  buildImage,
  ImageBuilder,
  type ImageBuilderCopyOptions,
  InvalidArgumentError,
} from "../../../src/index.js";
import { tempDir, tree } from "../../support/files.js";
import { runImage } from "../support.js";

const DEST = "/opt/prefect/project";

/** A Prefect project with secrets and junk its .dockerignore keeps out. */
const PROJECT: Record<string, string> = {
  ".dockerignore": ".env\n*.log\nnode_modules\n**/__pycache__\nsecrets/\n!secrets/public.pem\n",
  ".env": "API_TOKEN=s3cr3t\n",
  "debug.log": "noise\n",
  "flow.py": "print('flow')\n",
  "node_modules/pkg/index.js": "module.exports = 1;\n",
  "src/app.py": "print('app')\n",
  "src/__pycache__/app.cpython-312.pyc": "bytecode",
  "src/debug.log": "only the top-level *.log is excluded\n",
  "secrets/private.pem": "PRIVATE\n",
  "secrets/public.pem": "PUBLIC\n",
};

/** What must not reach the image, relative to the copied folder. */
const EXCLUDED = [".env", "debug.log", "node_modules", "src/__pycache__", "secrets/private.pem"];

/** A project folder (unique content, so no build cache is shared between tests). */
async function project(
  parent: string,
  name: string,
  files: Record<string, string> = PROJECT,
): Promise<string> {
  return tree(path.join(parent, name), { ...files, "run-id.txt": `${randomUUID()}\n` });
}

/** Every path below `folder` in the image, relative to it, sorted. */
async function filesIn(imageId: string, folder = DEST): Promise<string[]> {
  const output = await runImage(imageId, ["find", folder, "-mindepth", "1"]);
  return output
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.slice(folder.length + 1))
    .sort();
}

/** What `docker build` semantics put into the image for `COPY . DEST` of `folder`. */
async function referenceFiles(folder: string, builder: "classic" | "buildkit"): Promise<string[]> {
  const dockerfile = path.join(await tempDir(), "Dockerfile");
  await writeFile(dockerfile, `FROM busybox:latest\nCOPY . ${DEST}/\n`);
  const imageId = await buildImage(folder, { builder, dockerfile, networkMode: "none" });
  return filesIn(imageId);
}

const builders = [["classic"], ["buildkit"]] as const;

describe.each(builders)("ImageBuilder.copy() with the %s builder", (builder) => {
  const build = (image: ImageBuilder) => image.build({ builder, networkMode: "none" });

  async function copied(
    setup: (root: string) => Promise<{ options: ConstructorParameters<typeof ImageBuilder>[1] }>,
    source: string,
    copyOptions?: ImageBuilderCopyOptions,
  ): Promise<string[]> {
    const root = await tempDir();
    const { options } = await setup(root);
    await using image = await new ImageBuilder("busybox:latest", options).open();
    image.copy(source, `${DEST}/`, copyOptions);
    return filesIn(await build(image));
  }

  it('copy(".") leaves out what the base directory\'s .dockerignore excludes', async () => {
    const root = await tempDir();
    const base = await project(root, "flows");
    await using image = await new ImageBuilder("busybox:latest", { baseDirectory: base }).open();
    image.copy(".", `${DEST}/`);
    const files = await filesIn(await build(image));
    for (const excluded of EXCLUDED) expect(files).not.toContain(excluded);
    expect(files).toEqual(expect.arrayContaining(["flow.py", "src/app.py", "src/debug.log"]));
    expect(files).toContain("secrets/public.pem");
    expect(files).toEqual(await referenceFiles(base, builder));
  });

  it('copy("project") leaves out what project/.dockerignore excludes, relative to project', async () => {
    const files = await copied(async (root) => {
      await project(root, "project");
      // The base directory's own files and a .dockerignore of its own play no part.
      await writeFile(path.join(root, ".dockerignore"), "project/flow.py\n");
      return { options: { baseDirectory: root } };
    }, "project");
    for (const excluded of EXCLUDED) expect(files).not.toContain(excluded);
    expect(files).toEqual(expect.arrayContaining(["flow.py", "src/app.py", ".dockerignore"]));
  });

  it('copy(".") with { context } leaves them out too', async () => {
    const root = await tempDir();
    const folder = await project(root, "flows");
    await using image = await new ImageBuilder("busybox:latest", { context: folder }).open();
    image.copy(".", `${DEST}/`);
    const files = await filesIn(await build(image));
    for (const excluded of EXCLUDED) expect(files).not.toContain(excluded);
    expect(files).toEqual(await referenceFiles(folder, builder));
  });

  it('copy("project") with { context } of its parent leaves them out too', async () => {
    const files = await copied(async (root) => {
      await project(root, "project");
      return { options: { context: root } };
    }, "project");
    for (const excluded of EXCLUDED) expect(files).not.toContain(excluded);
    expect(files).toContain("flow.py");
  });

  it("copies the same files when the folder has no .dockerignore", async () => {
    const { ".dockerignore": _ignore, ...withoutIgnore } = PROJECT;
    const files = await copied(async (root) => {
      await project(root, "project", withoutIgnore);
      return { options: { baseDirectory: root } };
    }, "project");
    expect(files).toEqual(expect.arrayContaining([...EXCLUDED, "flow.py", "src/app.py"]));
  });

  it("copies everything with applyDockerignore: false", async () => {
    const files = await copied(
      async (root) => {
        await project(root, "project");
        return { options: { baseDirectory: root } };
      },
      "project",
      { applyDockerignore: false },
    );
    expect(files).toEqual(expect.arrayContaining([...EXCLUDED, ".dockerignore", "flow.py"]));
  });

  it("leaves out a .dockerignore that excludes itself, and a Dockerfile it excludes", async () => {
    const files = await copied(async (root) => {
      await project(root, "project", {
        ".dockerignore": ".dockerignore\nDockerfile\n.env\n",
        Dockerfile: "FROM scratch\n",
        ".env": "API_TOKEN=s3cr3t\n",
        "flow.py": "print('flow')\n",
      });
      return { options: { baseDirectory: root } };
    }, "project");
    expect(files).toEqual(["flow.py", "run-id.txt"]);
  });

  it("filters a copy nested in a copied folder by that folder's .dockerignore too", async () => {
    const root = await tempDir();
    await project(root, "project", {
      ".dockerignore": "sub/secret.txt\n",
      "sub/secret.txt": "SECRET\n",
      "sub/ok.txt": "ok\n",
    });
    await using image = await new ImageBuilder("busybox:latest", { baseDirectory: root }).open();
    image.copy("project", `${DEST}/`);
    image.copy("project/sub", "/sub/");
    const imageId = await build(image);
    // Both COPY lines read one place in the context: project/sub/secret.txt is in neither.
    expect(await filesIn(imageId)).toEqual([".dockerignore", "run-id.txt", "sub", "sub/ok.txt"]);
    expect(await filesIn(imageId, "/sub")).toEqual(["ok.txt"]);
  });

  it("refuses a nested source the enclosing folder's .dockerignore excludes, before sending", async () => {
    const root = await tempDir();
    await project(root, "project");
    await using image = await new ImageBuilder("busybox:latest", { baseDirectory: root }).open();
    image.copy("project", `${DEST}/`);
    image.copy("project/.env", "/.env");
    const error = await build(image).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildContextError);
    expect((error as Error).message).toContain('"project/.env" given to copy()');
    expect((error as Error).message).toContain(path.join(root, "project", ".dockerignore"));
  });

  it("fails closed on a .dockerignore that cannot be read or leads out of the folder", async () => {
    const root = await tempDir();
    const folder = await project(root, "project", { "flow.py": "" });
    await writeFile(path.join(root, "elsewhere"), ".env\n");
    await symlink(path.join(root, "elsewhere"), path.join(folder, ".dockerignore"));
    {
      await using image = await new ImageBuilder("busybox:latest", { baseDirectory: root }).open();
      image.copy("project", `${DEST}/`);
      await expect(build(image)).rejects.toThrow(/\.dockerignore is a symlink to .*outside/);
    }
    const other = await project(root, "other", { "flow.py": "" });
    await mkdir(path.join(other, ".dockerignore"));
    await using image = await new ImageBuilder("busybox:latest", { baseDirectory: root }).open();
    image.copy("other", `${DEST}/`);
    await expect(build(image)).rejects.toThrow(BuildContextError);
  });
});

describe("copy() options", () => {
  it("are checked at copy()", async () => {
    const root = await tree(await tempDir(), { "a.txt": "a" });
    await using image = await new ImageBuilder("busybox", { baseDirectory: root }).open();
    expect(() => image.copy("a.txt", "/a", { applyDockerignore: "no" as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() => image.copy("a.txt", "/a", "yes" as never)).toThrow(InvalidArgumentError);
  });
});
