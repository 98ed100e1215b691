// The command line checks every flag before any engine work and speaks in flags (issue 17, item
// 16): a bad --push, -f, --secret, --ssh or --base-image fails at once, with exit 2 and a message
// that names the flag, never a library option (options.tag, registryUrl, networkMode); the usage
// is printed for usage errors only; -f auto takes --base-image; a terminal of 0 columns gets 80.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { authRegistry } from "../../support/credentials/engine-ops.js";
import { dockerConfig } from "../../support/credentials/support.js";
import {
  BIN_COMMAND,
  contextWith,
  dockerfileLines,
  emptyDir,
  removeImageAfterTest,
  runBin,
} from "../cli-run.js";
import { lines, Terminal } from "../cli-terminal.js";
import { runImage, testRepository } from "../support.js";

/** Library option names and phrases that must never reach the command line's messages. */
const OPTION_NAMES =
  /options\.\w+|\bregistryUrl\b|\bnetworkMode\b|\bbuildArgs\b|\bbaseImage\b|\bimageId\b|\bsecrets\[|\bbuilder: "/;

const PASSWORD = "PW-4f1c9b-hunter2";

/**
 * Runs the bin in `cwd` against an engine socket that does not exist: a flag checked only after
 * engine work would fail with "cannot reach the engine" (exit 1) instead of its own message.
 */
async function runWithoutEngine(args: readonly string[], cwd: string, env = {}) {
  const socket = path.join(await emptyDir("pdu-no-engine-"), "docker.sock");
  return runBin(args, {
    cwd,
    env: {
      DOCKER_HOST: `unix://${socket}`,
      SSH_AUTH_SOCK: undefined,
      DOCKER_BUILDKIT: undefined,
      ...env,
    },
  });
}

describe("prefect-dockerutils checks every flag before any engine work", () => {
  // [args, message, whether it is a usage error, extra environment]
  const cases: [string[], RegExp, boolean, Record<string, string>?][] = [
    [
      ["build", "--push", "notaurl", "-t", "team/app:1", "."],
      /--push "notaurl" has no scheme/,
      false,
    ],
    [
      ["build", "--push", `http://alice:${PASSWORD}@127.0.0.1:5557`, "-t", "team/app:1", "."],
      /--push "http:\/\/\*\*\*@127\.0\.0\.1:5557" holds a user name or password.*log in with `docker login`/,
      false,
    ],
    [
      ["build", "-f", "missing.Dockerfile", "."],
      /-f "missing.Dockerfile": .* does not exist/,
      false,
    ],
    [
      ["build", "--builder", "buildkit", "--secret", "id=tok,env=PDU_UNSET_TOKEN", "."],
      /--secret id=tok: the variable PDU_UNSET_TOKEN \(env=PDU_UNSET_TOKEN\) is not set/,
      false,
    ],
    [
      ["build", "--builder", "buildkit", "--secret", "id=tok,src=no-such-file", "."],
      /--secret id=tok: .*no-such-file does not exist/,
      false,
    ],
    [
      ["build", "--builder", "buildkit", "--ssh", "default", "."],
      /--ssh default: SSH_AUTH_SOCK is not set/,
      false,
    ],
    [
      ["build", "--builder", "buildkit", "--platform", "linux/amd64,linux/arm64", "."],
      /--platform linux\/amd64,linux\/arm64 names several platforms, which go to a registry as one image: add --push REGISTRY and -t NAME\[:TAG\]/,
      false,
    ],
    [["build", "--target", "", "."], /--target must be a non-empty string/, false],
    [["build", "--network", "", "."], /--network must be a non-empty string/, false],
    [
      ["build", "--secret", "id=tok,env=HOME", "."],
      /--secret \("tok"\) needs --builder buildkit/,
      false,
    ],
    [
      ["build", "--builder", "classic", "--secret", "id=tok,env=HOME", "."],
      /--secret and --ssh need --builder buildkit/,
      true,
    ],
    [
      ["build", "--base-image", "busybox", "."],
      /--base-image is the FROM of the Dockerfile -f auto/,
      true,
    ],
    [["push", "busybox", "notaurl", "team/app"], /REGISTRY_URL "notaurl" has no scheme/, false],
    [
      ["push", "busybox", "http://127.0.0.1:5555", "app:v1"],
      /NAME "app:v1" holds a tag; pass the repository as NAME and the tag as --tag: push IMAGE REGISTRY_URL "app" --tag "v1"/,
      false,
    ],
    [
      ["push", "busybox", "http://127.0.0.1:5555", "app", "--tag", "bad tag"],
      /--tag must be a tag/,
      false,
    ],
    [
      ["push", "busybox", `alice:${PASSWORD}@127.0.0.1:5557`, "team/app"],
      /REGISTRY_URL "\*\*\*@127\.0\.0\.1:5557" holds a user name or password.*; write "http:\/\/127\.0\.0\.1:5557"/,
      false,
      { DEBUG: "*" },
    ],
  ];

  it.each(cases)("%j: its own message, exit 2", async (args, message, usage, env) => {
    const context = await contextWith({ Dockerfile: "FROM busybox\n" });
    const result = await runWithoutEngine(args, context, env);
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).not.toMatch(OPTION_NAMES);
    expect(result.stderr).not.toContain(PASSWORD);
    if (usage) expect(result.stderr).toContain(`Usage: prefect-dockerutils ${args[0]}`);
    else expect(result.stderr).not.toContain("Usage:");
  });

  it("checks --base-image of -f auto before generating or building anything", async () => {
    const context = await contextWith({ "flow.py": "print(1)\n" });
    const result = await runWithoutEngine(
      ["build", "-f", "auto", "--base-image", "Not An Image", "."],
      context,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--base-image "Not An Image" is not a valid image reference/);
    expect(result.stderr).not.toMatch(/building|Usage:/);
  });
});

describe("prefect-dockerutils on the real engine", () => {
  it("says how to log in when the registry refuses a push, without options.auth", async () => {
    const login = await authRegistry();
    const config = await dockerConfig({});
    const repository = testRepository("cli-refused");
    const result = await runBin(
      [
        "push",
        "busybox:latest",
        `http://${login.host}`,
        repository,
        "--tag",
        "1",
        "--progress",
        "plain",
      ],
      { env: { DOCKER_CONFIG: config } },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `ERROR: no basic auth credentials (registry ${login.host}; login: no login for ${login.host} in auths in ${path.join(config, "config.json")}. Log in with \`docker login ${login.host}\`)`,
    );
    expect(result.stderr).not.toMatch(OPTION_NAMES);
    expect(result.stderr).not.toContain("Usage:");
  });

  it("builds -f auto FROM --base-image, and leaves no Dockerfile behind", async () => {
    const context = await contextWith({ "hello.txt": `hi ${Math.random()}\n` });
    const printed = await runBin(["dockerfile", "--base-image", "busybox:latest", "."], {
      cwd: context,
    });
    expect(printed.code).toBe(0);
    const dir = path.basename(context);
    expect(printed.stdout).toBe(
      `FROM busybox:latest\nCOPY . /opt/prefect/${dir}/\nWORKDIR /opt/prefect/${dir}/\n`,
    );
    const built = await runBin(
      ["build", "-f", "auto", "--base-image", "busybox:latest", "-q", "."],
      {
        cwd: context,
      },
    );
    expect(built.code, built.stderr).toBe(0);
    const imageId = built.stdout.trim();
    removeImageAfterTest(imageId);
    expect(await runImage(imageId, ["cat", `/opt/prefect/${dir}/hello.txt`])).toMatch(/^hi /);
    expect(await runImage(imageId, ["pwd"])).toBe(`/opt/prefect/${dir}\n`);
    const { readdir } = await import("node:fs/promises");
    expect(await readdir(context)).toEqual(["hello.txt"]);
  });

  it("draws 80 columns on a terminal that reports 0", async () => {
    const long = "x".repeat(60);
    const context = await contextWith({
      Dockerfile: dockerfileLines("FROM busybox", `RUN echo ${long}`),
    });
    // stty makes the pseudo-terminal report 0 columns and rows, as some CI terminals do.
    const terminal = await Terminal.start(
      ["build", "--network", "none", "."],
      { cwd: context, width: 120 },
      ["sh", "-c", 'stty cols 0 rows 0 && exec "$@"', "sh", ...BIN_COMMAND],
    );
    const { code, screen } = await terminal.finished();
    expect(code, screen).toBe(0);
    const step = lines(screen).find((line) => line.includes("RUN echo"));
    expect(step, screen).toBeDefined();
    // Cut to the 80 columns of a terminal that reports none, not to 20.
    expect(step?.length).toBeGreaterThan(60);
    expect(step?.length).toBeLessThanOrEqual(80);
    const imageId = /\bbuilt ([0-9a-f]{12})/.exec(screen)?.[1];
    if (imageId) removeImageAfterTest(imageId);
  });
});
