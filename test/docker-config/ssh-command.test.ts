// The ssh command line for ssh:// engines, against the docker CLI's own table
// (cli/connhelper/ssh/ssh_test.go) and its connection helper's flags (cli/connhelper/connhelper.go).
import { describe, expect, it } from "vitest";
import { parseSshUrl, sshArguments } from "../../src/docker-config/ssh-command.js";
import { InvalidArgumentError } from "../../src/errors.js";

const WHERE = "the test names the engine";
const CLI_FLAGS = ["-o", "ConnectTimeout=30", "-T"];
const DIAL = ["docker", "system", "dial-stdio"];

describe("parseSshUrl and sshArguments", () => {
  it.each([
    ["ssh://example.com", { host: "example.com" }, ["--", "example.com", ...DIAL]],
    [
      "ssh://me@example.com:10022",
      { user: "me", host: "example.com", port: "10022" },
      ["-l", "me", "-p", "10022", "--", "example.com", ...DIAL],
    ],
    [
      "ssh://example.com/var/run/docker.sock",
      { host: "example.com", socketPath: "/var/run/docker.sock" },
      ["--", "example.com", "docker", "--host=unix:///var/run/docker.sock", "system", "dial-stdio"],
    ],
    [
      "ssh://me@example.com:10022/var/run/docker.sock",
      { user: "me", host: "example.com", port: "10022", socketPath: "/var/run/docker.sock" },
      [
        "-l",
        "me",
        "-p",
        "10022",
        "--",
        "example.com",
        "docker",
        "--host=unix:///var/run/docker.sock",
        "system",
        "dial-stdio",
      ],
    ],
    ["ssh://root@[::1]:2222", { user: "root", host: "::1", port: "2222" }, null],
    ["ssh://example.com/", { host: "example.com", socketPath: undefined }, null],
    // A user name that looks like an option stays the value of -l; a host, after --, the host.
    ["ssh://-oProxyCommand=x@host", { user: "-oProxyCommand=x", host: "host" }, null],
    ["ssh://me%40corp@host", { user: "me@corp", host: "host" }, null],
  ])("reads %j as the docker CLI does", (url, spec, args) => {
    const destination = parseSshUrl(url, WHERE);
    expect(destination).toEqual({
      user: undefined,
      port: undefined,
      socketPath: undefined,
      ...spec,
    });
    const built = sshArguments(destination);
    expect(built.slice(0, 3)).toEqual(CLI_FLAGS);
    expect(built.indexOf("--")).toBe(built.indexOf(destination.host) - 1);
    if (args) expect(built.slice(3)).toEqual(args);
  });

  it.each([
    ["malformed %%url", /not a valid ssh:\/\/ address/],
    ["https://example.com", /not an ssh:\/\/ address/],
    ["ssh://example.com?foo=bar&bar=baz", /query or fragment/],
    ["ssh://example.com#bar", /query or fragment/],
    ["ssh://", /names no host/],
    ["ssh:///no-hostname", /names no host/],
    ["ssh://me%0A@host", /control characters/],
    ["ssh://host/run/docker sock", /not a valid ssh|socket path/],
    ["ssh://host/run/$(id).sock", /socket path holds characters/],
    ["ssh://host/run/a;b.sock", /socket path holds characters/],
  ])("refuses %j like the CLI, or a socket path the remote shell would read", (url, message) => {
    expect(() => parseSshUrl(url, WHERE)).toThrow(InvalidArgumentError);
    expect(() => parseSshUrl(url, WHERE)).toThrow(message);
  });

  it("refuses a plain-text password, as the CLI does, without showing it", () => {
    let error: unknown;
    try {
      parseSshUrl(
        "ssh://alice:S3CR3T-PASSWORD@example.com",
        `${WHERE} "ssh://alice:***@example.com"`,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain("plain-text passwords are not supported");
    expect((error as Error).message).not.toContain("S3CR3T");
    expect(JSON.stringify(error)).not.toContain("S3CR3T");
    expect(String((error as Error).stack)).not.toContain("S3CR3T");
  });
});
