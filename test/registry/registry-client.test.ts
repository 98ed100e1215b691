import { describe, expect, it } from "vitest";
import { InvalidArgumentError, RegistryError } from "../../src/errors.js";
import { isTransientRegistryError } from "../../src/registry/registry-client.js";

const answered = (statusCode: number, errorCodes: string[] = []) =>
  new RegistryError("the registry's text", { registry: "r.example.com", statusCode, errorCodes });

describe("isTransientRegistryError", () => {
  it.each([
    [answered(401, ["UNAUTHORIZED"]), false],
    [answered(403, ["DENIED"]), false],
    [answered(404, ["MANIFEST_UNKNOWN"]), false],
    [answered(400, ["MANIFEST_INVALID"]), false],
    [answered(408), true],
    [answered(429, ["TOOMANYREQUESTS"]), true],
    [answered(500), true],
    [answered(502), true],
    [answered(503), true],
    [new InvalidArgumentError("bad"), false],
    [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
    [
      Object.assign(new Error("127.0.0.1:5000 sent nothing for 60000 ms"), { code: "ETIMEDOUT" }),
      true,
    ],
    [
      new RegistryError("Cannot reach the registry", { registry: "r", cause: new Error("x") }),
      false,
    ],
  ])("%s: %s", (error, expected) => {
    expect(isTransientRegistryError(error)).toBe(expected);
  });

  it("never retries a refused login, whatever its text says", () => {
    const error = new RegistryError("503 Service Unavailable", { registry: "r", statusCode: 401 });
    expect(isTransientRegistryError(error)).toBe(false);
  });
});
