// `prefect-dockerutils build --builder buildkit` as a child process, against the real engine.
import { randomUUID } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  CONTROL_CHARACTERS,
  connectionProbe,
  contextWith,
  dockerfileLines,
  emptyDir,
  filesIn,
  imageExists,
  registryDigest,
  removeImageAfterTest,
  runBin,
  startBin,
  uniqueName,
  until,
} from "../cli-run.js";
import { lines, SPINNER, Terminal } from "../cli-terminal.js";
import { docker, IMAGE_ID_PATTERN, runImage } from "../support.js";

// BuildKit's cache keys leave LABELs and secrets out, so the test-run label of dockerfileLines does
// not keep these builds apart: every build runs with --no-cache.
describe("prefect-dockerutils build --builder buildkit", () => {
  it("builds, prints the image ID, and shows BuildKit's steps as --progress=plain does", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines(
        "FROM busybox",
        "COPY hello.txt /hello.txt",
        "RUN echo built by buildkit",
        'CMD ["cat", "/hello.txt"]',
      ),
      "hello.txt": "hello from buildkit\n",
    });
    const name = uniqueName();
    const result = await runBin([
      "build",
      "--builder",
      "buildkit",
      "--no-cache",
      "--network",
      "none",
      "--progress",
      "plain",
      "-t",
      `${name}:bk`,
      context,
    ]);
    expect(result.code).toBe(0);
    const imageId = result.stdout.trim();
    removeImageAfterTest(imageId);
    expect(imageId).toMatch(IMAGE_ID_PATTERN);
    expect(await runImage(`${name}:bk`)).toBe("hello from buildkit\n");
    expect(result.stderr).toMatch(/^#\d+ \[internal\] load build definition from Dockerfile$/m);
    expect(result.stderr).toMatch(/^#(\d+) \[\d\/\d\] RUN echo built by buildkit$/m);
    expect(result.stderr).toMatch(/^#\d+ built by buildkit$/m);
    expect(result.stderr).toMatch(/^#\d+ DONE \d+\.\ds$/m);
    // Sub-tasks by what they are, as the docker CLI shows them, not by their action alone
    // ("transferring" for both folders); no byte count where the engine sent none.
    expect(result.stderr).toMatch(/^#\d+ transferring dockerfile: \d+(?:\.\d+)?[kMG]?B done$/m);
    expect(result.stderr).toMatch(/^#\d+ transferring context: \d+(?:\.\d+)?[kMG]?B done$/m);
    expect(result.stderr).toMatch(/^#\d+ exporting layers done$/m);
    expect(result.stderr).not.toMatch(/ 0B$/m);
    expect(result.stderr).not.toMatch(CONTROL_CHARACTERS);
  });

  it("mounts --secret from a file and from the environment, and keeps it out of the image", async () => {
    const fileSecret = `file-secret-${randomUUID()}`;
    const envSecret = `env-secret-${randomUUID()}`;
    const context = await contextWith({
      Dockerfile: dockerfileLines(
        "FROM busybox",
        "RUN --mount=type=secret,id=fromfile --mount=type=secret,id=fromenv " +
          "cat /run/secrets/fromfile /run/secrets/fromenv | md5sum | cut -d' ' -f1 > /digest",
        'CMD ["cat", "/digest"]',
      ),
    });
    const secretDir = await emptyDir();
    const { writeFile } = await import("node:fs/promises");
    await writeFile(path.join(secretDir, "secret.txt"), fileSecret);
    const result = await runBin(
      [
        "build",
        "-q",
        "--builder",
        "buildkit",
        "--no-cache",
        "--network",
        "none",
        "--secret",
        `id=fromfile,src=${path.join(secretDir, "secret.txt")}`,
        "--secret",
        "id=fromenv,env=PDU_CLI_SECRET",
        context,
      ],
      { env: { PDU_CLI_SECRET: envSecret } },
    );
    expect(result.code).toBe(0);
    const imageId = result.stdout.trim();
    removeImageAfterTest(imageId);
    const { createHash } = await import("node:crypto");
    expect(await runImage(imageId)).toBe(
      `${createHash("md5")
        .update(fileSecret + envSecret)
        .digest("hex")}\n`,
    );
    const history = JSON.stringify(await docker.getImage(imageId).history());
    expect(history).not.toContain(fileSecret);
    expect(history).not.toContain(envSecret);
  });

  it("forwards --ssh ID=SOCKET into RUN --mount=type=ssh", async () => {
    const dir = await emptyDir();
    const socket = path.join(dir, "agent.sock");
    const server = net.createServer((connection) => connection.end());
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const context = await contextWith({
      Dockerfile: dockerfileLines(
        "FROM busybox",
        'RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "agent at $SSH_AUTH_SOCK"',
      ),
    });
    const result = await runBin([
      "build",
      "--builder",
      "buildkit",
      "--no-cache",
      "--network",
      "none",
      "--progress",
      "plain",
      "--ssh",
      `default=${socket}`,
      context,
    ]);
    expect(result.code).toBe(0);
    removeImageAfterTest(result.stdout.trim());
    expect(result.stderr).toMatch(/^#\d+ agent at \/run\/buildkit\/ssh_agent\.\d+$/m);
  });

  it("exits 1 with BuildKit's message and the step's output when a RUN fails", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines("FROM busybox", "RUN echo before the failure && exit 5"),
    });
    const result = await runBin([
      "build",
      "--builder",
      "buildkit",
      "--no-cache",
      "--network",
      "none",
      "--progress",
      "plain",
      context,
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^#\d+ ERROR: .*exit code: 5/m);
    expect(result.stderr).toMatch(/ERROR: .*exit code: 5/);
    expect(result.stderr).toContain("before the failure");
  });

  it("pushes with --push after a BuildKit build", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines("FROM busybox", `RUN echo ${randomUUID()} > /id`),
    });
    const name = uniqueName();
    const repository = name.slice("localhost/".length);
    const result = await runBin([
      "build",
      "-q",
      "--builder",
      "buildkit",
      "--no-cache",
      "--network",
      "none",
      "-t",
      `${name}:bk`,
      "--push",
      "http://127.0.0.1:5555",
      context,
    ]);
    expect(result.code).toBe(0);
    const [imageId, reference] = result.stdout.trimEnd().split("\n");
    removeImageAfterTest(imageId ?? "");
    expect(reference).toBe(`127.0.0.1:5555/${repository}:bk`);
    expect(await registryDigest(repository, "bk")).toMatch(/^sha256:/);
  });

  it("cancels on SIGINT mid-RUN: exit 130, the RUN killed, no tag, no temporary files", async () => {
    const probe = await connectionProbe();
    const context = await contextWith({
      Dockerfile: dockerfileLines("FROM busybox", `RUN sleep 600 | nc 127.0.0.1 ${probe.port}`),
    });
    const name = uniqueName();
    const tmp = await emptyDir();
    const bin = startBin(
      [
        "build",
        "--builder",
        "buildkit",
        "--network",
        "host",
        "--progress",
        "plain",
        "-t",
        `${name}:cancelled`,
        context,
      ],
      { env: { TMPDIR: tmp } },
    );
    await until("the RUN step to connect", () => probe.connected());
    bin.child.kill("SIGINT");
    const result = await bin.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("cancelled by SIGINT");
    await until("the RUN to be killed", () => probe.closed(), 30_000);
    expect(await imageExists(`${name}:cancelled`)).toBe(false);
    expect((await filesIn(tmp)).filter((entry) => !entry.startsWith("tsx-"))).toEqual([]);
    // The engine takes the next BuildKit build at once: no session or build was left holding it.
    const after = await contextWith({ Dockerfile: dockerfileLines("FROM busybox") });
    const next = await runBin([
      "build",
      "-q",
      "--builder",
      "buildkit",
      "--no-cache",
      "--network",
      "none",
      after,
    ]);
    expect(next.code).toBe(0);
    removeImageAfterTest(next.stdout.trim());
  });

  it("draws BuildKit's vertices on a terminal, one line each when done, with their times", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines(
        "FROM busybox",
        "COPY hello.txt /hello.txt",
        "RUN for i in 1 2 3; do echo tty line $i; sleep 0.3; done",
      ),
      "hello.txt": "hi\n",
    });
    const terminal = await Terminal.start(
      ["build", "--builder", "buildkit", "--no-cache", "--network", "none", "."],
      { cwd: context },
    );
    const { code, screen } = await terminal.finished();
    expect(code).toBe(0);
    const final = lines(screen);
    removeImageAfterTest(final.find((line) => /^sha256:[0-9a-f]{64}$/.test(line)) ?? "");
    // The screen in the message: a failure here is otherwise hard to tell apart from BuildKit's
    // own variations (vertex order, CACHED).
    expect(final[0], screen).toBe("[+] Building .");
    expect(final, screen).toContainEqual(
      expect.stringMatching(/^ => \[internal\] load build definition from Dockerfile +\d+\.\ds$/),
    );
    // BuildKit shares the FROM vertex with a build of another test running at the same time, under
    // the name that build gave it: "[1/2] FROM docker.io/library/busybox" is seen here too.
    expect(
      final.filter((line) => / => (CACHED )?\[1\/\d+\] FROM /.test(line)),
      screen,
    ).toHaveLength(1);
    expect(final.filter((line) => line.includes("[3/3] RUN for i in 1 2 3"))).toEqual([
      expect.stringMatching(/^ => \[3\/3\] RUN for i in 1 2 3; .* \d+\.\ds$/),
    ]);
    expect(final.some((line) => line.startsWith(" => => # "))).toBe(false);
    expect(final).toContainEqual(
      expect.stringMatching(/^\[\+\] Building \d+\.\ds \(\d+\/\d+\) FINISHED$/),
    );
    expect(screen).not.toMatch(SPINNER);
  });
});
