import type { IncomingMessage } from "node:http";
import { MAX_ENGINE_ERROR_BODY_BYTES } from "../defaults.js";
import { EngineHttpError } from "../errors.js";

/** Reads a response body into memory, failing past `limit` bytes. */
export async function readBody(
  response: IncomingMessage,
  limit: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const onAbort = () => response.destroy(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const chunk of response) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        response.destroy();
        throw new EngineHttpError(
          `The engine's answer is larger than ${limit} bytes, more than any short answer`,
          response.statusCode ?? 0,
        );
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return Buffer.concat(chunks);
}

/**
 * The {@link EngineHttpError} of an answer that is not a success, with the engine's own message
 * (its JSON's `message`, else its text). A redirect's body is not read.
 */
export async function httpErrorOf(
  method: string,
  path: string,
  response: IncomingMessage,
  signal: AbortSignal | undefined,
  what = "failed",
): Promise<EngineHttpError> {
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400) {
    response.destroy();
    const location = String(response.headers.location ?? "nowhere").slice(0, 200);
    return new EngineHttpError(
      `The engine answered ${method} ${path} with HTTP ${status}, a redirect to ${JSON.stringify(location)}; redirects from the engine are never followed`,
      status,
    );
  }
  let text = "";
  let cause: unknown;
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response) {
      const buffer = chunk as Buffer;
      chunks.push(buffer.subarray(0, Math.max(0, MAX_ENGINE_ERROR_BODY_BYTES - size)));
      size += buffer.length;
      if (size >= MAX_ENGINE_ERROR_BODY_BYTES) break;
    }
    text = Buffer.concat(chunks).toString("utf8").trim();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    cause = error;
  } finally {
    response.destroy();
  }
  let message = text;
  try {
    const json = JSON.parse(text) as { message?: unknown };
    if (typeof json?.message === "string") message = json.message;
  } catch {
    // Not JSON: the engine's (or a proxy's) plain text is the message.
  }
  if (!message)
    message = `${method} ${path} ${what}: HTTP ${status} ${response.statusMessage ?? ""}`;
  return new EngineHttpError(message.trim(), status, cause === undefined ? undefined : { cause });
}
