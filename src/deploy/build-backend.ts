/**
 * Prefect's `build_backend` names and this library's `builder` names, read as one.
 * @module
 */
import { InvalidArgumentError } from "../errors.js";
import type { Builder } from "../operation/build-image-options.js";
import { pythonRepr } from "../python/repr.js";
import { show } from "../validate.js";

/** A builder: `"classic"` or `"buildkit"`, or Prefect's `build_backend` names for them. */
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
 * @param wording - Prefect's: "Must be" in `DockerImage`, "Expected" in the steps.
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
