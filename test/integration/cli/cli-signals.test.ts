// Ctrl-C and kill: the bin cancels through the library's signal and leaves nothing behind.
import { randomBytes, randomUUID } from "node:crypto";
import net from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  connectionProbe,
  contextWith,
  dockerfileLines,
  emptyDir,
  filesIn,
  imageExists,
  removeImageAfterTest,
  runBin,
  startBin,
  uniqueName,
  until,
} from "../cli-run.js";
import { docker, testRepository } from "../support.js";

/** Containers (running or not) whose command mentions `marker`. */
async function containersWith(marker: string): Promise<string[]> {
  const containers = await docker.listContainers({ all: true });
  return containers.filter((container) => container.Command.includes(marker)).map((c) => c.Id);
}

describe.each([
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const)(
  "prefect-dockerutils build cancelled by %s mid-RUN (classic builder)",
  (signal, code) => {
    it(`exits ${code}, and the RUN, its container, the tag and temporary files are gone`, async () => {
      const probe = await connectionProbe();
      const marker = `pdu-cli-cancel-${randomUUID()}`;
      // The RUN holds a connection to the probe open until it is killed: its closing proves the
      // step really stopped, not just the client.
      const context = await contextWith({
        Dockerfile: dockerfileLines(
          "FROM busybox",
          `RUN echo ${marker} && sleep 600 | nc 127.0.0.1 ${probe.port}`,
        ),
      });
      const name = uniqueName();
      const tmp = await emptyDir();
      const bin = startBin(
        ["build", "--progress", "plain", "--network", "host", "-t", `${name}:cancelled`, context],
        { env: { TMPDIR: tmp } },
      );
      await until("the RUN step to connect", () => probe.connected());
      expect(bin.stderr()).toContain(marker);
      bin.child.kill(signal);
      const result = await bin.done;

      expect(result.code).toBe(code);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(`cancelled by ${signal}`);
      expect(result.stderr).toMatch(/build cancelled after \d+\.\ds/);
      await until("the RUN to be killed", () => probe.closed(), 30_000);
      await until(
        "the build container to be removed",
        async () => (await containersWith(marker)).length === 0,
        30_000,
      );
      expect(await imageExists(`${name}:cancelled`)).toBe(false);
      expect((await filesIn(tmp)).filter((entry) => !entry.startsWith("tsx-"))).toEqual([]);
      expect(await filesIn(context)).toEqual(["Dockerfile"]);
    });
  },
);

/**
 * A loopback proxy in front of the test registry that lets uploads through at about
 * `bytesPerSecond`, so a push is reliably still running when the test interrupts it.
 */
async function slowRegistry(bytesPerSecond: number): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(5555, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    upstream.pipe(client);
    client.on("data", (chunk: Buffer) => {
      client.pause();
      upstream.write(chunk);
      setTimeout(() => client.resume(), Math.ceil((chunk.length / bytesPerSecond) * 1000));
    });
    client.on("end", () => upstream.end());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

describe("prefect-dockerutils push cancelled by SIGINT", () => {
  it("exits 130 and removes the registry tag it made", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines("FROM busybox", "COPY noise.bin /noise.bin"),
      // Random bytes do not compress: the layer is uploaded at its full size.
      "noise.bin": randomBytes(4 * 1024 * 1024).toString("base64"),
    });
    const name = uniqueName();
    const built = await runBin(["build", "-q", "-t", name, context]);
    expect(built.code).toBe(0);
    const imageId = built.stdout.trim();
    removeImageAfterTest(imageId);
    const port = await slowRegistry(256 * 1024);
    const repository = testRepository("cli-cancelled");
    const bin = startBin([
      "push",
      "--progress",
      "plain",
      imageId,
      `http://127.0.0.1:${port}`,
      repository,
      "--tag",
      "t",
    ]);
    await until("the upload to start", () => /: Pushing /.test(bin.stderr()));
    expect(await imageExists(`127.0.0.1:${port}/${repository}:t`)).toBe(true);
    bin.child.kill("SIGINT");
    const result = await bin.done;
    expect(result.code).toBe(130);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/push cancelled after/);
    expect(await imageExists(`127.0.0.1:${port}/${repository}:t`)).toBe(false);
    expect(await imageExists(name)).toBe(true);
  });
});
