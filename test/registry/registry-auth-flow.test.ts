import { describe, expect, it } from "vitest";
import { isLoopbackHost, realmProblem } from "../../src/registry/registry-auth-flow.js";

describe("isLoopbackHost", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["localhost", true],
    ["[::1]", true],
    ["::1", true],
    ["10.0.0.1", false],
    ["127.0.0.1.example.com", false],
    ["localhost.example.com", false],
    ["ghcr.io", false],
  ])("%s: %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe("realmProblem: where a login may go to buy a token", () => {
  const https = new URL("https://registry.example.com/");
  const http = new URL("http://registry.example.com:5000/");
  it.each([
    [
      "an HTTPS realm on another host (Docker Hub's auth.docker.io)",
      "https://auth.example.com/token",
      https,
      undefined,
    ],
    ["a loopback realm over plain HTTP", "http://127.0.0.1:5558/token", https, undefined],
    [
      "plain HTTP on the host of a plain-HTTP registry",
      "http://registry.example.com:5001/token",
      http,
      undefined,
    ],
    ["plain HTTP on another host", "http://auth.example.com/token", https, "unencrypted"],
    [
      "plain HTTP on another host, even for a plain-HTTP registry",
      "http://auth.example.com/token",
      http,
      "unencrypted",
    ],
    [
      "plain HTTP to the registry's host when the registry is HTTPS",
      "http://registry.example.com/token",
      https,
      "unencrypted",
    ],
    [
      "a realm with user info",
      "https://user:pw@auth.example.com/token",
      https,
      "user name or password",
    ],
    ["another scheme", "ftp://auth.example.com/token", https, "scheme ftp:"],
  ])("%s", (_name, realm, registry, problem) => {
    const found = realmProblem(new URL(realm), registry);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});
