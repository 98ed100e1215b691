/**
 * Prefect's `build_backend` names and this library's `builder` names, read as one.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";
import type { Builder } from "../operation/build-image-options.js";
import { pythonRepr } from "../python/repr.js";
import { show } from "../validate.js";

/**
 * A builder as the deploy side accepts it: this library's `"classic"` and `"buildkit"`, or
 * Prefect's `build_backend` names, `"docker-py"` (the classic builder, as docker-py drives it) and
 * `"buildx"` (BuildKit, which Prefect reaches through the buildx plugin and this library through
 * the Engine API).
 */
export type BuildBackend = Builder | "docker-py" | "buildx";

const ALIASES: Readonly<Record<BuildBackend, Builder>> = {
  classic: "classic",
  buildkit: "buildkit",
  "docker-py": "classic",
  buildx: "buildkit",
};

/**
 * The builder a backend name stands for, `undefined` when none is given.
 *
 * @param wording - Prefect words the error differently in `DockerImage` ("Must be") and in the
 *   steps ("Expected").
 * @throws InvalidArgumentError with Prefect's message for any other value.
 */
export function builderOf(value: unknown, wording: "Must be" | "Expected"): Builder | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && Object.hasOwn(ALIASES, value)) {
    return ALIASES[value as BuildBackend];
  }
  const shown = typeof value === "string" ? pythonRepr(value) : show(value);
  throw new InvalidArgumentError(
    `Invalid build_backend ${shown}. ${wording} 'docker-py' or 'buildx'. (This library also accepts 'classic' and 'buildkit'.)`,
  );
}
