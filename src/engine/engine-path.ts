import { InvalidArgumentError } from "../errors.js";
import { controlCharacter } from "../validate.js";

/** No image ID, name or reference comes near it. */
const MAX_SEGMENT_CHARS = 1024;

/**
 * An Engine API path from a template whose interpolations are caller strings: each is checked (not
 * empty, `.` or `..`, no control characters) and percent-encoded, so that its `/`, `?`, `#` and `%`
 * can never reach another endpoint or add query parameters (`localhost:5000/app` is sent as
 * `localhost%3A5000%2Fapp`).
 *
 * @throws InvalidArgumentError naming the bad segment.
 */
export function enginePath(strings: TemplateStringsArray, ...segments: string[]): string {
  let path = strings[0] ?? "";
  segments.forEach((segment, index) => {
    path += encodeSegment(segment) + (strings[index + 1] ?? "");
  });
  return path;
}

function encodeSegment(segment: unknown): string {
  if (typeof segment !== "string" || segment === "" || segment === "." || segment === "..") {
    throw new InvalidArgumentError(
      `${JSON.stringify(segment)} cannot be part of an Engine API path; pass an image ID, name or reference`,
    );
  }
  if (segment.length > MAX_SEGMENT_CHARS) {
    throw new InvalidArgumentError(
      `${JSON.stringify(`${segment.slice(0, 100)}...`)} (${segment.length} characters) is too long to be part of an Engine API path; no image ID, name or reference is longer than ${MAX_SEGMENT_CHARS} characters`,
    );
  }
  if (controlCharacter(segment) !== undefined) {
    throw new InvalidArgumentError(
      `${JSON.stringify(segment)} contains control characters and cannot be part of an Engine API path`,
    );
  }
  return encodeURIComponent(segment);
}

/**
 * Checks a whole API path just before it is sent: absolute, no query, fragment or control
 * character, and no empty, `.` or `..` segment as written or percent-decoded (the engine answers
 * those with a redirect to the cleaned path, which would lead a client elsewhere).
 *
 * @throws InvalidArgumentError naming the path.
 */
export function checkEnginePath(path: string): string {
  const text = String(path);
  const shown = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
  if (
    typeof path !== "string" ||
    !path.startsWith("/") ||
    /[?#\s]/.test(path) ||
    controlCharacter(path) !== undefined
  ) {
    throw new InvalidArgumentError(
      `${shown} is not an Engine API path: it must start with "/" and hold no query, fragment, space or control character`,
    );
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch (cause) {
    throw new InvalidArgumentError(`${shown} is not an Engine API path: a %-escape is broken`, {
      cause,
    });
  }
  for (const form of [path, decoded]) {
    const segments = form.slice(1).split("/");
    if (segments.some((segment) => segment === "" || segment === "." || segment === "..")) {
      throw new InvalidArgumentError(
        `${shown} is not an Engine API path: it has an empty, "." or ".." segment, which the engine would redirect elsewhere`,
      );
    }
    if (controlCharacter(form) !== undefined) {
      throw new InvalidArgumentError(`${shown} decodes to control characters`);
    }
  }
  return path;
}
