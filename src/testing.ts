/**
 * Test helpers: `import { captureBuilders } from "prefect-dockerutils/testing"`.
 * @module
 */
import { observeBuilders } from "./prefect/builder-registry.js";
import { ImageBuilder } from "./prefect/image-builder.js";

/**
 * The builders recorded by {@link captureBuilders}: an array that stops recording when disposed.
 */
export class CapturedBuilders extends Array<ImageBuilder> implements Disposable, AsyncDisposable {
  // Array methods such as map() must build plain arrays, not new captures.
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  #stop: (() => void) | undefined;

  /** @internal */
  static start(): CapturedBuilders {
    const captured = new CapturedBuilders();
    captured.#stop = observeBuilders((builder) => {
      if (builder instanceof ImageBuilder) captured.push(builder);
    });
    return captured;
  }

  /** Stops recording; the builders recorded so far stay in the array. */
  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.stop();
  }
}

/**
 * Records every {@link ImageBuilder} constructed while it is active, like Prefect's
 * `capture_builders`, so tests can assert on the Dockerfiles code under test assembles.
 *
 * @example
 * ```ts
 * using builders = captureBuilders();
 * await codeThatBuildsAnImage();
 * builders[0]?.assertHasLine("FROM busybox");
 * ```
 * @example
 * ```ts
 * const builders = await captureBuilders(async () => { await codeThatBuildsAnImage(); });
 * ```
 */
export function captureBuilders(): CapturedBuilders;
export function captureBuilders(
  callback: (builders: readonly ImageBuilder[]) => unknown,
): Promise<ImageBuilder[]>;
export function captureBuilders(
  callback?: (builders: readonly ImageBuilder[]) => unknown,
): CapturedBuilders | Promise<ImageBuilder[]> {
  const captured = CapturedBuilders.start();
  if (!callback) return captured;
  return (async () => {
    try {
      await callback(captured);
    } finally {
      captured.stop();
    }
    return [...captured];
  })();
}
