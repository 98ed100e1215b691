import { writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BuildContextOverlay } from "../build-context/build-context.js";
import { InvalidArgumentError, InvalidStateError } from "../errors.js";
import { crypto } from "../lazy-builtins.js";
import type { BuildImageOptions } from "../operation/build-image-options.js";
import { normalizeBuildImageOptions } from "../operation/build-image-options.js";
import { purePosixPath } from "../python/pure-posix-path.js";
import { booleanOption, controlCharacter, optionsObject, show } from "../validate.js";
import { buildImageInternal } from "./build-image.js";
import {
  BASE_DIRECTORY_ENTRY,
  type CopiedSource,
  checkContextFolder,
  containerPath,
  copyContextPath,
  copyHostPath,
  describeCopyFailure,
  relativeSource,
} from "./builder-paths.js";
import { builderCreated } from "./builder-registry.js";
import { copyInstruction, dockerfileText, parseCopyInstruction } from "./dockerfile.js";
import { assertHasLine, assertLineAbsent, assertLineBefore } from "./dockerfile-assertions.js";

/** Options of the {@link ImageBuilder} constructor. */
export interface ImageBuilderOptions {
  /** Where relative `copy()` sources are found. @default `context` when given, else the cwd */
  readonly baseDirectory?: string;
  /** The platform to build for, e.g. `linux/amd64`. @default the engine's */
  readonly platform?: string;
  /**
   * An existing folder to use as the build context; it must not hold a `Dockerfile` (Prefect's
   * rule). Nothing is written into it.
   * @default a temporary folder made by `open()`
   */
  readonly context?: string;
}

/** Options of {@link ImageBuilder.copy}. */
export interface ImageBuilderCopyOptions {
  /**
   * Leave out what the copied folder's own `.dockerignore` excludes, as `docker build` of that
   * folder would (patterns relative to the folder). No effect on a file.
   * @default true
   */
  readonly applyDockerignore?: boolean;
}

/** Options of {@link ImageBuilder.build}. */
export type ImageBuilderBuildOptions = Omit<BuildImageOptions, "dockerfile" | "platform">;

/**
 * Assembles a Dockerfile and its build context, then builds the image: Prefect's `ImageBuilder`.
 * Files given to `copy()` are sent from where they are when `build()` runs, under the names
 * Prefect's copies would have; nothing from outside `baseDirectory` is ever sent.
 *
 * @example
 * ```ts
 * await using image = await new ImageBuilder("busybox").open();
 * image.addLine("WORKDIR /app");
 * image.copy("hello.txt", "hello.txt");
 * image.addLine('ENTRYPOINT [ "/bin/cat", "hello.txt" ]');
 * const imageId = await image.build({ streamProgressTo: process.stdout });
 * ```
 */
export class ImageBuilder implements AsyncDisposable {
  /** Where relative `copy()` sources are found. */
  readonly baseDirectory: string;
  /** The platform to build for, if any. */
  readonly platform: string | undefined;
  /** The Dockerfile's lines, starting with `FROM <baseImage>`. */
  readonly dockerfileLines: string[] = [];
  #context: string | null;
  #temporaryDirectory: string | null = null;
  #opening: Promise<this> | undefined;
  #closed = false;
  /** By path in the context. */
  readonly #copies = new Map<string, CopiedSource>();
  /** By file name, for contexts we must not write into. */
  readonly #texts = new Map<string, string>();
  /** Let finish by close() before it removes their context. */
  readonly #builds = new Set<Promise<unknown>>();

  /**
   * @param baseImage - The `FROM` image, e.g. `python:3.12-slim`.
   * @throws InvalidArgumentError for a bad option, or a `context` that is no folder or has a
   *   `Dockerfile`.
   */
  constructor(baseImage: string, options: ImageBuilderOptions = {}) {
    const { baseDirectory, platform, context } = normalizeImageBuilderOptions(baseImage, options);
    this.baseDirectory = path.resolve(baseDirectory ?? context ?? process.cwd());
    this.platform = platform;
    this.#context = context === undefined ? null : checkContextFolder(context);
    this.addLine(`FROM ${baseImage}`);
    builderCreated(this);
  }

  /** The build context folder, or `null` before `open()` and after `close()` of a temporary one. */
  get context(): string | null {
    return this.#context;
  }

  /**
   * Allocates a temporary context folder unless a context was given. Resolves to the builder.
   * @throws InvalidStateError after `close()`.
   */
  async open(): Promise<this> {
    this.#throwIfClosed("open");
    if (this.#context) return this;
    this.#opening ??= (async () => {
      const directory = await mkdtemp(path.join(tmpdir(), "prefect-dockerutils-"));
      if (this.#closed) {
        await rm(directory, { recursive: true, force: true });
        this.#throwIfClosed("open");
      }
      this.#temporaryDirectory = directory;
      this.#context = directory;
      return this;
    })();
    return this.#opening;
  }

  /**
   * Removes the temporary context folder, if any, once running builds finish. Idempotent; the
   * Dockerfile lines and assertions stay available.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#opening?.catch(() => undefined);
    // `await using` disposes as soon as its block returns, which with `return image.build()`
    // is before the build has read the context: let running builds finish first.
    await Promise.allSettled(this.#builds);
    const directory = this.#temporaryDirectory;
    if (!directory) return;
    this.#temporaryDirectory = null;
    this.#context = null;
    this.#copies.clear();
    this.#texts.clear();
    await rm(directory, { recursive: true, force: true });
  }

  /** Calls {@link ImageBuilder.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Adds a line to the Dockerfile. */
  addLine(line: string): void {
    this.addLines([line]);
  }

  /** Adds lines to the Dockerfile. */
  addLines(lines: Iterable<string>): void {
    this.dockerfileLines.push(...lines);
  }

  /**
   * Adds `COPY <source> <destination>` and puts the source into the build context. A source is
   * found in `baseDirectory` and must lie inside it, resolved lexically; a symlink is sent as a
   * link, and one reached through a link that leaves `baseDirectory` is refused. A folder's own
   * `.dockerignore` applies, also to copies nested inside it.
   *
   * @throws InvalidArgumentError for a source outside `baseDirectory`, missing, or with wildcard
   *   characters; for a path with control characters; for bad options.
   * @throws InvalidStateError before `open()` (temporary context) or after `close()`.
   */
  copy(source: string, destination: string, options: ImageBuilderCopyOptions = {}): void {
    this.#requireContext("copy");
    const given = optionsObject<ImageBuilderCopyOptions>("copy() options", options);
    const applyDockerignore = booleanOption("applyDockerignore", given.applyDockerignore, true);
    const relative = relativeSource(this.baseDirectory, source, "copy");
    const target = containerPath("copy", "destination", destination);
    const contextPath = copyContextPath(source, relative);
    const hostPath = copyHostPath(this.baseDirectory, source, relative);
    this.#copies.set(contextPath, { hostPath, source, applyDockerignore });
    this.addLine(copyInstruction(contextPath, target));
  }

  /**
   * Writes `text` to a file named `.<sha256 of text>` in the context and copies it to
   * `destination`.
   * @throws InvalidArgumentError for a destination with control characters.
   * @throws InvalidStateError before `open()` (temporary context) or after `close()`.
   */
  writeText(text: string, destination: string): void {
    const context = this.#requireContext("writeText");
    if (typeof text !== "string") {
      throw new InvalidArgumentError(`writeText() text must be a string, got ${show(text)}`);
    }
    const target = containerPath("writeText", "destination", destination);
    const name = `.${crypto().createHash("sha256").update(text, "utf8").digest("hex")}`;
    this.#texts.set(name, text);
    if (this.#temporaryDirectory) {
      // Visible in the temporary context like Prefect's, so `context` shows what will be sent.
      writeFileSync(path.join(context, name), text, "utf8");
    }
    this.addLine(copyInstruction(name, target));
  }

  /**
   * Builds the image from the Dockerfile lines and resolves to its ID. Builds of one builder may
   * run at the same time.
   * @throws InvalidArgumentError for a bad option; InvalidStateError before `open()` (temporary
   *   context) or after `close()`; BuildError and the others {@link buildImage} throws.
   */
  build(options: ImageBuilderBuildOptions = {}): Promise<string> {
    const build = this.#build(options);
    this.#builds.add(build);
    const forget = () => this.#builds.delete(build);
    build.then(forget, forget);
    return build;
  }

  async #build(options: ImageBuilderBuildOptions): Promise<string> {
    const context = this.#requireContext("build");
    const given = optionsObject<BuildImageOptions>("build() options", options);
    for (const option of ["dockerfile", "platform"] as const) {
      if (given[option] !== undefined) {
        throw new InvalidArgumentError(
          option === "platform"
            ? "build() takes no platform option; pass it to the ImageBuilder constructor"
            : "build() takes no dockerfile option; the builder sends its own Dockerfile",
        );
      }
    }
    const normalized = normalizeBuildImageOptions(
      { ...given, ...(this.platform ? { platform: this.platform } : {}) },
      "build() options",
    );
    normalized.signal?.throwIfAborted();
    const copies = [...this.#copies];
    // `within` checks again when the files are read: a symlink made since copy() may lead out.
    const overlays: BuildContextOverlay[] = copies.map(
      ([contextPath, { hostPath, applyDockerignore }]) => ({
        contextPath,
        hostPath,
        within: this.baseDirectory,
        applyDockerignore,
      }),
    );
    const privateDirectory = await mkdtemp(path.join(tmpdir(), "prefect-dockerutils-build-"));
    try {
      if (!this.#temporaryDirectory) {
        // A context the user owns is never written into: texts come from the private folder.
        for (const [name, text] of this.#texts) {
          const hostPath = path.join(privateDirectory, name);
          await writeFile(hostPath, text, "utf8");
          overlays.push({ contextPath: name, hostPath });
        }
      }
      // Outside the context, so it is sent under a generated name the engine keeps out of COPY.
      const dockerfile = path.join(privateDirectory, "Dockerfile");
      await writeFile(dockerfile, dockerfileText(this.dockerfileLines));
      try {
        return await buildImageInternal(context, { ...normalized, dockerfile }, overlays);
      } catch (error) {
        throw describeCopyFailure(error, copies);
      }
    } finally {
      await rm(privateDirectory, { recursive: true, force: true });
    }
  }

  /** Asserts that `line` is in the Dockerfile. */
  assertHasLine(line: string): void {
    assertHasLine(this.dockerfileLines, line);
  }

  /** Asserts that `line` is not in the Dockerfile. */
  assertLineAbsent(line: string): void {
    assertLineAbsent(this.dockerfileLines, line);
  }

  /** Asserts that `first` appears before `second`. */
  assertLineBefore(first: string, second: string): void {
    assertLineBefore(this.dockerfileLines, first, second);
  }

  /** Asserts that `second` appears after `first`. */
  assertLineAfter(second: string, first: string): void {
    assertLineBefore(this.dockerfileLines, first, second);
  }

  /** Asserts that `source` (file or folder) will be copied into the image at `containerPath`. */
  assertHasFile(source: string, containerPath: string): void {
    const relative = relativeSource(this.baseDirectory, source, "assertHasFile");
    const destination = purePosixPath(String(containerPath));
    const sources = relative === "." ? [BASE_DIRECTORY_ENTRY, "."] : [relative];
    const found = this.dockerfileLines.some((line) => {
      const copy = parseCopyInstruction(line);
      return (
        copy !== undefined && sources.includes(copy[0]) && purePosixPath(copy[1]) === destination
      );
    });
    if (!found) this.assertHasLine(copyInstruction(sources[0] as string, destination));
  }

  #throwIfClosed(method: string): void {
    if (this.#closed) {
      throw new InvalidStateError(
        `Cannot ${method}(): this ImageBuilder was closed (by close() or at the end of its \`await using\` block); make a new ImageBuilder`,
      );
    }
  }

  #requireContext(method: string): string {
    this.#throwIfClosed(method);
    if (!this.#context) {
      throw new InvalidStateError(
        `No context available: call open() first (await new ImageBuilder(...).open()), or pass a context`,
      );
    }
    return this.#context;
  }
}

/** The constructor's arguments, checked before anything is read. */
function normalizeImageBuilderOptions(
  baseImage: unknown,
  options: unknown,
): { baseDirectory?: string; platform?: string; context?: string } {
  if (typeof baseImage !== "string" || baseImage.trim() === "") {
    throw new InvalidArgumentError(
      `baseImage must be an image such as "python:3.12-slim", got ${show(baseImage)}`,
    );
  }
  const control = controlCharacter(baseImage);
  if (control !== undefined) {
    throw new InvalidArgumentError(
      `baseImage must not contain control characters (found ${control}), got ${JSON.stringify(baseImage)}`,
    );
  }
  const given = optionsObject<ImageBuilderOptions>("ImageBuilder options", options as undefined);
  const result: { baseDirectory?: string; platform?: string; context?: string } = {};
  for (const name of ["baseDirectory", "platform", "context"] as const) {
    const value: unknown = given[name];
    // Prefect treats every falsy value as absent (`base_directory or context or cwd`).
    if (value === undefined || value === null || value === "") continue;
    if (typeof value !== "string") {
      throw new InvalidArgumentError(`${name} must be a string, got ${show(value)}`);
    }
    result[name] = value;
  }
  return result;
}
