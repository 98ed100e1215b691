/**
 * `prefect-dockerutils build [context]`.
 * @module
 */
import path from "node:path";
import {
  type Builder,
  type BuildImageOptions,
  buildImage,
  dockerClient,
  generateDefaultDockerfile,
  InvalidArgumentError,
} from "../../index.js";
import { parseBuildArgs, parseSecrets, parseSsh, parseTags } from "../build-flags.js";
import { shortId } from "../format.js";
import type { CommandContext } from "../run-cli.js";
import { pushAndPrint } from "./push-command.js";
import { withRenderer } from "./with-renderer.js";

/** The flags of `build`, as the argument parser gives them. */
export interface BuildFlags {
  readonly tag: string[];
  readonly file?: string;
  readonly builder?: Builder;
  readonly buildArg: string[];
  readonly secret: string[];
  readonly ssh: string[];
  readonly platform?: string;
  readonly pull?: boolean;
  /** `false` with `--no-cache`. */
  readonly cache: boolean;
  readonly target?: string;
  readonly network?: string;
  readonly push?: string;
  readonly quiet?: boolean;
}

/**
 * Builds the context; prints the image ID on stdout, and with `--push` the pushed reference.
 * Extra `-t` names are added through the engine's tag call after the build.
 */
export async function buildCommand(
  context: CommandContext,
  contextArg: string,
  flags: BuildFlags,
): Promise<void> {
  const { io, signal } = context;
  const env = io.env;
  const contextDir = path.resolve(io.cwd, contextArg);
  const tags = parseTags(flags.tag);
  const [firstTag, ...otherTags] = tags;
  if (flags.push !== undefined && firstTag === undefined) {
    throw new InvalidArgumentError(
      "--push needs -t NAME[:TAG] to name the pushed image, e.g. -t team/app:1",
    );
  }
  const autoDockerfile = flags.file === "auto";
  const options: BuildImageOptions = {
    dockerfile:
      autoDockerfile || flags.file === undefined ? "Dockerfile" : path.resolve(io.cwd, flags.file),
    ...(firstTag ? { tag: firstTag.reference } : {}),
    ...(flags.builder ? { builder: flags.builder } : {}),
    ...(flags.secret.length > 0 ? { secrets: parseSecrets(flags.secret, io.cwd) } : {}),
    ...(flags.ssh.length > 0 ? { ssh: parseSsh(flags.ssh, io.cwd) } : {}),
    ...(flags.buildArg.length > 0 ? { buildArgs: parseBuildArgs(flags.buildArg, env) } : {}),
    ...(flags.platform ? { platform: flags.platform } : {}),
    ...(flags.target ? { target: flags.target } : {}),
    ...(flags.network ? { networkMode: flags.network } : {}),
    pull: flags.pull === true,
    noCache: flags.cache === false,
    env,
    signal,
  };

  if (flags.platform?.includes(",")) {
    const { multiPlatformBuild } = await import("./multi-platform-build.js");
    const { platform: _platform, tag: _tag, ...rest } = options;
    await withRenderer(context, flags.quiet, async (renderer) => {
      await using _generated = autoDockerfile
        ? await generateDefaultDockerfile(contextDir)
        : undefined;
      await multiPlatformBuild(
        renderer,
        io.stdout,
        contextDir,
        { platforms: flags.platform as string, tags, push: flags.push, contextArg },
        rest,
      );
    });
    return;
  }
  await withRenderer(context, flags.quiet, async (renderer) => {
    renderer.start("build", contextArg);
    let imageId: string;
    {
      // Prefect's `dockerfile: auto`: the generated Dockerfile is removed again in every case.
      await using _generated = autoDockerfile
        ? await generateDefaultDockerfile(contextDir)
        : undefined;
      imageId = await buildImage(contextDir, { ...options, onProgress: renderer.onProgress });
    }
    if (otherTags.length > 0) {
      const docker = dockerClient({ env });
      for (const tag of otherTags) {
        signal.throwIfAborted();
        await docker.getImage(imageId).tag({ repo: tag.repository, tag: tag.tag });
      }
    }
    renderer.end({
      kind: "done",
      summary: [...tags.map((tag) => `naming to ${tag.reference}`), `built ${shortId(imageId)}`],
    });
    io.stdout.write(`${imageId}\n`);

    if (flags.push !== undefined && firstTag) {
      // The tag the image was built with (`latest` when -t had none), as `docker push` would.
      renderer.start("push", `${firstTag.pushName}:${firstTag.tag} to ${flags.push}`);
      await pushAndPrint(renderer, io.stdout, imageId, flags.push, firstTag.pushName, {
        tag: firstTag.tag,
        env,
        signal,
      });
    }
  });
}
