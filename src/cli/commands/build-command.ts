/**
 * `prefect-dockerutils build [context]`.
 * @module
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";
import {
  type Builder,
  type BuildImageOptions,
  type BuildSecret,
  buildImage,
  buildMultiPlatformImage,
  generateDefaultDockerfile,
  InvalidArgumentError,
  parseImageReference,
  tagImage,
} from "../../index.js";
import { parseBuildArgs, parseSecrets, parseSsh, parseTags } from "../build-flags.js";
import { shortId } from "../format.js";
import type { CommandContext } from "../run-cli.js";
import { UsageError } from "../usage-error.js";
import { checkOptions } from "./check-options.js";
import { checkPushArguments, pushAndPrint } from "./push-command.js";
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
  readonly baseImage?: string;
  readonly quiet?: boolean;
}

/**
 * Builds the context and prints the image ID (and with `--push` the pushed reference). Every flag
 * is checked before the engine is asked anything.
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
    throw new UsageError("--push needs -t NAME[:TAG] to name the pushed image, e.g. -t team/app:1");
  }
  const autoDockerfile = flags.file === "auto";
  if (flags.baseImage !== undefined && !autoDockerfile) {
    throw new UsageError(
      "--base-image is the FROM of the Dockerfile -f auto generates; add -f auto, or write the FROM line into your Dockerfile",
    );
  }
  if ((flags.secret.length > 0 || flags.ssh.length > 0) && flags.builder === "classic") {
    throw new UsageError("--secret and --ssh need --builder buildkit");
  }
  const secrets = flags.secret.length > 0 ? parseSecrets(flags.secret, io.cwd) : undefined;
  const ssh = flags.ssh.length > 0 ? parseSsh(flags.ssh, io.cwd) : undefined;
  const options: BuildImageOptions = {
    dockerfile:
      autoDockerfile || flags.file === undefined ? "Dockerfile" : path.resolve(io.cwd, flags.file),
    ...(firstTag ? { tag: firstTag.reference } : {}),
    ...(flags.builder ? { builder: flags.builder } : {}),
    ...(secrets ? { secrets } : {}),
    ...(ssh ? { ssh } : {}),
    ...(flags.buildArg.length > 0 ? { buildArgs: parseBuildArgs(flags.buildArg, env) } : {}),
    ...(flags.platform !== undefined ? { platform: flags.platform } : {}),
    ...(flags.target !== undefined ? { target: flags.target } : {}),
    ...(flags.network !== undefined ? { networkMode: flags.network } : {}),
    pull: flags.pull === true,
    noCache: flags.cache === false,
    env,
    signal,
  };
  const { platform: _platform, tag: _tag, ...rest } = options;
  await checkValues(contextDir, flags, options, env);
  // Prefect's `dockerfile: auto`: the generated Dockerfile is removed again in every case.
  const generate = () =>
    autoDockerfile
      ? generateDefaultDockerfile(
          contextDir,
          flags.baseImage === undefined ? {} : { baseImage: flags.baseImage },
        )
      : undefined;
  if (flags.platform?.includes(",")) {
    const { multiPlatformTarget, multiPlatformBuild } = await import("./multi-platform-build.js");
    const target = multiPlatformTarget(flags.platform, tags, flags.push);
    const multiOptions = {
      ...rest,
      platforms: flags.platform,
      additionalTags: target.additionalTags,
    };
    await checkOptions((signal) =>
      buildMultiPlatformImage(contextDir, target.reference, { ...multiOptions, signal }),
    );
    await withRenderer(context, flags.quiet, async (renderer) => {
      await using _generated = await generate();
      renderer.start("build", `${contextArg} for ${flags.platform}`);
      await multiPlatformBuild(renderer, io.stdout, contextDir, target.reference, multiOptions);
    });
    return;
  }
  await checkOptions((signal) => buildImage(contextDir, { ...options, signal }));
  if (flags.push !== undefined && firstTag) {
    await checkPushArguments(flags.push, firstTag.pushName, firstTag.tag, env);
  }
  await withRenderer(context, flags.quiet, async (renderer) => {
    renderer.start("build", contextArg);
    let imageId: string;
    {
      await using _generated = await generate();
      imageId = await buildImage(contextDir, { ...options, onProgress: renderer.onProgress });
    }
    for (const tag of otherTags) {
      await tagImage(imageId, `${tag.repository}:${tag.tag}`, { env, signal });
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

/**
 * What the flags name, checked before any engine work (the library reads secrets and agents only
 * once the engine answered): the context, the `-f` file, each secret and `--ssh` agent.
 */
async function checkValues(
  contextDir: string,
  flags: BuildFlags,
  options: BuildImageOptions,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const folder = await stat(contextDir).catch(() => undefined);
  if (!folder) throw new InvalidArgumentError(`Context path ${contextDir} does not exist`);
  if (!folder.isDirectory()) {
    throw new InvalidArgumentError(
      `Context path ${contextDir} is not a folder; pass the folder that holds the Dockerfile`,
    );
  }
  if (flags.file === "auto") {
    const existing = await stat(path.join(contextDir, "Dockerfile")).catch(() => undefined);
    if (existing) {
      throw new InvalidArgumentError(
        `-f auto: Dockerfile already exists in ${contextDir}, and -f auto never overwrites it; build with it (leave -f out), or move it away`,
      );
    }
    if (flags.baseImage !== undefined) {
      try {
        parseImageReference(flags.baseImage);
      } catch (error) {
        throw new InvalidArgumentError(`--base-image ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  } else if (flags.file !== undefined) {
    const file = options.dockerfile as string;
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new InvalidArgumentError(
        `-f ${JSON.stringify(flags.file)}: ${file} ${info ? "is not a file" : "does not exist"}`,
      );
    }
  }
  for (const [id, secret] of Object.entries(options.secrets ?? {}) as [string, BuildSecret][]) {
    if (secret.env !== undefined && env[secret.env] === undefined) {
      throw new InvalidArgumentError(
        `--secret id=${id}: the variable ${secret.env} (env=${secret.env}) is not set`,
      );
    }
    if (secret.file !== undefined) {
      const info = await stat(secret.file).catch(() => undefined);
      const readable =
        info?.isFile() === true &&
        (await access(secret.file, constants.R_OK).then(
          () => true,
          () => false,
        ));
      if (!readable) {
        throw new InvalidArgumentError(
          `--secret id=${id}: ${secret.file} ${info === undefined ? "does not exist" : info.isFile() ? "cannot be read" : "is not a file"}`,
        );
      }
    }
  }
  for (const [id, socket] of Object.entries(options.ssh ?? {})) {
    const agent = socket === true ? env.SSH_AUTH_SOCK : socket;
    if (!agent) {
      throw new InvalidArgumentError(
        `--ssh ${id}: SSH_AUTH_SOCK is not set; start an agent (eval $(ssh-agent)) or pass --ssh ${id}=SOCKET`,
      );
    }
    const info = await stat(agent).catch(() => undefined);
    if (!info?.isSocket()) {
      throw new InvalidArgumentError(
        `--ssh ${id}: ${agent} ${info ? "is not a socket" : "does not exist"}`,
      );
    }
  }
}
