// What pushImage adds to the engine's text, replayed on
// the engine's own messages (the ones a loopback registry cannot be made to produce on demand).
import { describe, expect, it } from "vitest";
import { PushError } from "../../src/errors.js";
import { explainPushError } from "../../src/prefect/push-errors.js";

describe("notes after the engine's text", () => {
  it("name the registry and the login's origin for a refused login, keeping every field", () => {
    const cause = new PushError("no basic auth credentials", {
      statusCode: 401,
      logTail: ["a", "b"],
    });
    const explained = explainPushError(cause, {
      host: "127.0.0.1:5556",
      origin: "no login for 127.0.0.1:5556 in auths in /home/me/.docker/config.json",
      fix: "pass options.auth",
    }) as PushError;
    expect(explained.message).toBe(
      "no basic auth credentials (registry 127.0.0.1:5556; login: no login for 127.0.0.1:5556 in auths in /home/me/.docker/config.json. Log in with `docker login 127.0.0.1:5556` or pass options.auth)",
    );
    expect(explained).toMatchObject({
      statusCode: 401,
      logTail: ["a", "b"],
      authFailure: true,
      cause,
    });
  });

  it.each([
    ["unauthorized: authentication required", 401],
    ["no basic auth credentials", 401],
    ["denied: requested access to the resource is denied", 403],
  ])("give %j the registry's status %i and authFailure", (text, status) => {
    const explained = explainPushError(new PushError(text), {
      host: "ghcr.io",
      origin: "options.auth",
      fix: "pass credentials",
    }) as PushError;
    expect(explained).toMatchObject({ statusCode: status, authFailure: true });
    expect(explained.message).toMatch(/or pass credentials\)$/);
  });

  it("say that the engine chose HTTPS when it met a plain-HTTP registry", () => {
    const explained = explainPushError(
      new PushError(
        'Get "https://registry.example:5000/v2/": http: server gave HTTP response to HTTPS client',
      ),
      { host: "registry.example:5000", origin: "options.auth", fix: "pass options.auth" },
    ) as PushError;
    expect(explained.message).toMatch(/^Get .*HTTPS client \(the engine speaks HTTPS to/);
    expect(explained.message).toContain('list "registry.example:5000" in insecure-registries');
  });

  it("leave other errors alone", () => {
    const login = { host: "h:1", origin: "x", fix: "y" };
    const other = new PushError("connection refused");
    expect(explainPushError(other, login)).toBe(other);
    expect(other.authFailure).toBe(false);
    const reason = new Error("aborted");
    expect(explainPushError(reason, login)).toBe(reason);
  });
});
