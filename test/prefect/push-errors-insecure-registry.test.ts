// The insecure-registry advice a push error carries names the configuration of the engine that
// refused: Docker's daemon.json, or Podman's registries.conf (Podman reads no daemon.json).
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { PushError } from "../../src/errors.js";
import { explainPushError } from "../../src/prefect/push-errors.js";
import { readJsonLines } from "../../src/streams/json-lines.js";
import { PushStream } from "../../src/streams/push-stream.js";

/** The PushError of Podman's recorded answer to a push to localhost:5555, a plain-HTTP registry. */
async function podmanHttpsToHttp(): Promise<PushError> {
  const bytes = readFileSync(
    path.resolve(import.meta.dirname, "../fixtures/engine-streams/podman-push-https-to-http.jsonl"),
  );
  const reader = new PushStream({ tag: "tiny" });
  const error = await readJsonLines(Readable.from([bytes]), (line) => reader.handle(line)).catch(
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PushError);
  return error as PushError;
}

describe("the advice for HTTPS spoken to a plain-HTTP registry", () => {
  it("names registries.conf, not daemon.json, when the engine is Podman", async () => {
    const explained = explainPushError(await podmanHttpsToHttp(), {
      host: "localhost:5555",
      origin: "options.auth",
      fix: "pass options.auth",
      podman: true,
    }) as PushError;
    expect(explained.message).toMatch(
      /server gave HTTP response to HTTPS client \(the engine speaks HTTPS to localhost:5555 whatever registryUrl's scheme says; to push over plain HTTP, mark it insecure in \/etc\/containers\/registries\.conf .*\[\[registry\]\] location = "localhost:5555" insecure = true, then restart the Podman service\)$/,
    );
    expect(explained.message).not.toContain("daemon.json");
  });

  it("names daemon.json for Docker", async () => {
    const explained = explainPushError(await podmanHttpsToHttp(), {
      host: "localhost:5555",
      origin: "options.auth",
      fix: "pass options.auth",
      podman: false,
    }) as PushError;
    expect(explained.message).toContain(
      'to push over plain HTTP, list "localhost:5555" in insecure-registries of the engine\'s daemon.json)',
    );
  });
});
