/**
 * Prefect's ImageBuilder: assemble a Dockerfile and its build context from code.
 * @module
 */
import { AssertionError } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, realpathSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BuildContextOverlay } from "../context/build-context.js";
import { InvalidArgumentError } from "../errors.js";
import { purePosixPath } from "../python/pure-posix-path.js";
import { pythonRepr } from "../python/repr.js";
import { type BuildImageOptions, buildImageInternal } from "./build-image.js";
import { builderCreated } from "./builder-registry.js";

/** Options of the {@link ImageBuilder} constructor. */
export interface ImageBuilderOptions {
  /**
   * Where relative `copy()` sources are found on the host.
   * @default `context` when given, else `process.cwd()`
   */
  readonly baseDirectory?: string;
  /** The platform to build for, e.g. `linux/amd64`. @default the engine's */
  readonly platform?: string;
  /**
   * Use this folder as the build context instead of a temporary one. It must not hold a
   * `Dockerfile`; `build()` writes one there and always removes it again.
   * @default a temporary folder made by `open()`
   */
  readonly context?: string;
}

/** Options of {@link ImageBuilder.build}. */
export type ImageBuilderBuildOptions = Omit<BuildImageOptions, "dockerfile" | "platform">;

/**
 * Assembles a Dockerfile and its build context, then builds the image: Prefect's `ImageBuilder`.
 *
 * Files given to {@link ImageBuilder.copy} are not copied into the temporary context: they are
 * sent to the engine straight from where they are when {@link ImageBuilder.build} runs, under the
 * same names Prefect's copies would have.
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
  /** Host files sent in place of Prefect's copies, keyed by their path in the context. */
  readonly #overlays = new Map<string, string>();
  /** Texts from writeText(), by file name, for contexts we must not write into. */
  readonly #texts = new Map<string, string>();
  /** Builds under way, which close() lets finish before it removes their context. */
  readonly #builds = new Set<Promise<unknown>>();

  constructor(baseImage: string, options: ImageBuilderOptions = {}) {
    builderCreated(this);
    const { baseDirectory, platform, context } = options;
    this.baseDirectory = path.resolve(baseDirectory || context || process.cwd());
    this.platform = platform;
    this.#context = context ? path.resolve(context) : null;
    if (this.#context && existsSync(path.join(this.#context, "Dockerfile"))) {
      throw new InvalidArgumentError(`There is already a Dockerfile at ${context}`);
    }
    this.addLine(`FROM ${baseImage}`);
  }

  /** The build context folder, or `null` before `open()` and after `close()` of a temporary one. */
  get context(): string | null {
    return this.#context;
  }

  /**
   * Allocates a temporary context folder unless a context was given. Resolves to the builder.
   */
  async open(): Promise<this> {
    if (this.#context) return this;
    this.#temporaryDirectory = await mkdtemp(path.join(tmpdir(), "prefect-dockerutils-"));
    this.#context = this.#temporaryDirectory;
    return this;
  }

  /** Removes the temporary context folder, if there is one. Safe to call more than once. */
  async close(): Promise<void> {
    // `await using` disposes as soon as its block returns, which with `return image.build()`
    // is before the build has read the context: let running builds finish first.
    await Promise.allSettled(this.#builds);
    const directory = this.#temporaryDirectory;
    if (!directory) return;
    this.#temporaryDirectory = null;
    this.#context = null;
    this.#overlays.clear();
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
   * Copies a file or folder into the image: adds `COPY <source> <destination>` and puts the
   * source into the build context. A relative source is found in `baseDirectory`; an absolute one
   * must lie inside it and is written relative to it.
   */
  copy(source: string, destination: string): void {
    this.#requireContext();
    const relative = this.#relativeSource(source, true);
    if (this.#temporaryDirectory) {
      const hostPath = path.join(this.baseDirectory, relative);
      try {
        lstatSync(hostPath);
      } catch (cause) {
        throw new InvalidArgumentError(
          `Cannot copy ${JSON.stringify(source)}: ${hostPath} does not exist`,
          { cause },
        );
      }
      if (relative === ".") {
        // The whole base directory: its entries become the context's. Its own Dockerfile, if any,
        // cannot be sent, since the builder's Dockerfile takes that name (Prefect's copytree
        // fails outright here, as the temporary context already exists).
        for (const name of readdirSync(hostPath)) {
          if (name !== "Dockerfile") this.#overlays.set(name, path.join(hostPath, name));
        }
      } else {
        this.#overlays.set(relative, hostPath);
      }
    }
    this.addLine(`COPY ${relative} ${purePosixPath(destination)}`);
  }

  /** Writes `text` to a file named `.<sha256 of text>` in the context and copies it to `destination`. */
  writeText(text: string, destination: string): void {
    const context = this.#requireContext();
    const name = `.${createHash("sha256").update(text, "utf8").digest("hex")}`;
    this.#texts.set(name, text);
    if (this.#temporaryDirectory) {
      // Visible in the temporary context like Prefect's, so `context` shows what will be sent.
      writeFileSync(path.join(context, name), text, "utf8");
    }
    this.addLine(`COPY ${name} ${purePosixPath(destination)}`);
  }

  /**
   * Writes the Dockerfile, builds the image and resolves to its ID. The Dockerfile is removed
   * again whatever happens; an existing Dockerfile is never overwritten.
   */
  build(options: ImageBuilderBuildOptions = {}): Promise<string> {
    const build = this.#build(options);
    this.#builds.add(build);
    const forget = () => this.#builds.delete(build);
    build.then(forget, forget);
    return build;
  }

  async #build(options: ImageBuilderBuildOptions): Promise<string> {
    const context = this.#context;
    if (!context) {
      throw new InvalidArgumentError("No context available: call open() first, or pass a context");
    }
    options.signal?.throwIfAborted();
    const dockerfile = path.join(context, "Dockerfile");
    const overlays: BuildContextOverlay[] = [...this.#overlays].map(([contextPath, hostPath]) => ({
      contextPath,
      hostPath,
    }));
    let textDirectory: string | undefined;
    try {
      if (!this.#temporaryDirectory && this.#texts.size > 0) {
        // A context the user owns is never written into, but for the Dockerfile Prefect puts there.
        textDirectory = await mkdtemp(path.join(tmpdir(), "prefect-dockerutils-text-"));
        for (const [name, text] of this.#texts) {
          const hostPath = path.join(textDirectory, name);
          await writeFile(hostPath, text, "utf8");
          overlays.push({ contextPath: name, hostPath });
        }
      }
      try {
        await writeFile(dockerfile, this.dockerfileLines.map((line) => `${line}\n`).join(""), {
          flag: "wx",
        });
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === "EEXIST") {
          throw new InvalidArgumentError(`There is already a Dockerfile at ${context}`, { cause });
        }
        throw cause;
      }
      try {
        return await buildImageInternal(context, {
          ...options,
          ...(this.platform ? { platform: this.platform } : {}),
          overlays,
        });
      } finally {
        await unlink(dockerfile).catch(() => undefined);
      }
    } finally {
      if (textDirectory) await rm(textDirectory, { recursive: true, force: true });
    }
  }

  /** Asserts that `line` is in the Dockerfile. */
  assertHasLine(line: string): void {
    const allLines = numbered(this.dockerfileLines);
    const message = `Expected ${pythonRepr(line)} not found in Dockerfile.  Dockerfile:\n${allLines}`;
    if (!this.dockerfileLines.includes(line)) throw new AssertionError({ message });
  }

  /** Asserts that `line` is not in the Dockerfile. */
  assertLineAbsent(line: string): void {
    const index = this.dockerfileLines.indexOf(line);
    if (index === -1) return;
    const surrounding = numbered(pySlice(this.dockerfileLines, index - 2, index + 2));
    throw new AssertionError({
      message: `Unexpected ${pythonRepr(line)} found in Dockerfile at line ${index + 1}.  Surrounding lines:\n${surrounding}`,
    });
  }

  /** Asserts that `first` appears before `second`. */
  assertLineBefore(first: string, second: string): void {
    this.assertHasLine(first);
    this.assertHasLine(second);
    const firstIndex = this.dockerfileLines.indexOf(first);
    const secondIndex = this.dockerfileLines.indexOf(second);
    if (firstIndex < secondIndex) return;
    const surrounding = numbered(pySlice(this.dockerfileLines, secondIndex - 2, firstIndex + 2));
    throw new AssertionError({
      message:
        `Expected ${pythonRepr(first)} to appear before ${pythonRepr(second)} in the Dockerfile, but ` +
        `${pythonRepr(first)} was at line ${firstIndex + 1} and ${pythonRepr(second)} as at line ` +
        `${secondIndex + 1}.  Surrounding lines:\n${surrounding}`,
    });
  }

  /** Asserts that `second` appears after `first`. */
  assertLineAfter(second: string, first: string): void {
    this.assertLineBefore(first, second);
  }

  /** Asserts that `source` (file or folder) will be copied into the image at `containerPath`. */
  assertHasFile(source: string, containerPath: string): void {
    this.assertHasLine(
      `COPY ${this.#relativeSource(source, false)} ${purePosixPath(containerPath)}`,
    );
  }

  #requireContext(): string {
    if (!this.#context) {
      throw new InvalidArgumentError("No context available: call open() first, or pass a context");
    }
    return this.#context;
  }

  /**
   * The source as Prefect writes it in the COPY line: relative to `baseDirectory`, `..` resolved.
   * Prefect resolves symlinks of absolute sources (`Path.resolve()`) when copying.
   */
  #relativeSource(source: string, resolveLinks: boolean): string {
    if (typeof source !== "string" || source === "") {
      throw new InvalidArgumentError(`source must be a path, got ${JSON.stringify(source)}`);
    }
    let absolute = path.resolve(this.baseDirectory, source);
    let base = this.baseDirectory;
    if (resolveLinks && path.isAbsolute(source)) {
      absolute = realpathOr(absolute);
      base = realpathOr(base);
    }
    const relative = path.relative(base, absolute);
    if (relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
      throw new InvalidArgumentError(
        `${JSON.stringify(source)} is not in the subpath of ${JSON.stringify(this.baseDirectory)}; ` +
          "copy only files inside baseDirectory, or pass a baseDirectory that contains them",
      );
    }
    return relative === "" ? "." : relative.split(path.sep).join("/");
  }
}

function realpathOr(value: string): string {
  try {
    return realpathSync(value);
  } catch {
    return value;
  }
}

/** Prefect's `f"  {i + 1:>3}: {line}"` listing, numbered from 1 whatever the slice. */
function numbered(lines: readonly string[]): string {
  return lines.map((line, i) => `  ${String(i + 1).padStart(3)}: ${line}`).join("\n");
}

/** Python's `list[start:stop]`, including its negative indices. */
function pySlice<T>(items: readonly T[], start: number, stop: number): T[] {
  const norm = (index: number) =>
    index < 0 ? Math.max(items.length + index, 0) : Math.min(index, items.length);
  return items.slice(norm(start), Math.max(norm(start), norm(stop)));
}
