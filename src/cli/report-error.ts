/**
 * How a failed command reports: the engine's message, the failing step and the last lines of
 * output, on stderr.
 * @module
 */
import type { DockerUtilsError } from "../index.js";
import { sanitizeLine } from "./format.js";

/**
 * The lines describing `error`: message (`message` instead of its own, e.g. in the command line's
 * words), then the failing step and the log tail when known.
 */
export function describeError(
  error: unknown,
  message = error instanceof Error ? error.message : String(error),
): string[] {
  const lines = [`ERROR: ${message}`];
  const details = error as Partial<DockerUtilsError> & {
    step?: unknown;
    logTail?: unknown;
    code?: unknown;
    cause?: unknown;
  };
  if (typeof details.step === "string") lines.push(`failing step: ${details.step}`);
  if (Array.isArray(details.logTail) && details.logTail.length > 0) {
    lines.push("log tail:");
    const tail = details.logTail
      .flatMap((chunk: unknown) => String(chunk).split("\n"))
      .filter((line) => line.trim() !== "");
    for (const line of tail) lines.push(`  | ${line}`);
  }
  if (typeof details.code === "string") lines.push(`(${details.code})`);
  return lines.map((line) => sanitizeLine(line));
}

/** Writes {@link describeError}'s lines, the first in red when colour is on. */
export function reportError(
  output: { write(text: string): unknown },
  error: unknown,
  red: (text: string) => string,
  message?: string,
): void {
  const [first, ...rest] = describeError(error, message);
  output.write(`${red(first ?? "ERROR")}\n${rest.map((line) => `${line}\n`).join("")}`);
}
