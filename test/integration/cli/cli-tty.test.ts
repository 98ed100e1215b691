// The TTY display on a real pseudo-terminal: the bin runs inside tmux, and the tests read the
// screen tmux shows (capture-pane), as a person would, instead of the escape codes.
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  BIN_COMMAND,
  contextWith,
  dockerfileLines,
  emptyDir,
  removeImageAfterTest,
  uniqueName,
  until,
} from "../cli-run.js";
import { ESC, lines, SPINNER, Terminal } from "../cli-terminal.js";

/** A server the RUN step connects to; closing it lets the step finish. */
async function gate(): Promise<{ port: number; connected: () => boolean; open: () => void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const open = () => {
    for (const socket of sockets) socket.end();
  };
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    connected: () => sockets.length > 0,
    open,
  };
}

describe("prefect-dockerutils build on a terminal", () => {
  it("redraws the running step with its log lines and timing, then keeps one line per step", async () => {
    const door = await gate();
    const context = await contextWith({
      Dockerfile: dockerfileLines(
        "FROM busybox",
        "COPY hello.txt /hello.txt",
        `RUN for i in 1 2 3 4 5 6 7 8; do echo "log line $i"; done && nc 127.0.0.1 ${door.port} < /dev/zero && echo after the gate`,
        'CMD ["cat", "/hello.txt"]',
      ),
      "hello.txt": "hi\n",
    });
    const name = uniqueName();
    const terminal = await Terminal.start(
      ["build", "--network", "host", "-t", `${name}:tty`, "."],
      {
        cwd: context,
      },
    );
    await until("the RUN step to wait at the gate", () => door.connected());
    // While the RUN runs: the step, its last six log lines and a status line with the time.
    let live = "";
    await until("the live frame to show the log", async () => {
      live = await terminal.screen();
      return live.includes("log line 8");
    });
    const liveLines = lines(live);
    expect(liveLines).toContainEqual(
      expect.stringMatching(/^ => \[4\/6\] RUN for i in .* \d+\.\ds$/),
    );
    expect(liveLines.filter((line) => line.startsWith(" => => # log line"))).toEqual([
      " => => # log line 3",
      " => => # log line 4",
      " => => # log line 5",
      " => => # log line 6",
      " => => # log line 7",
      " => => # log line 8",
    ]);
    expect(liveLines.at(-1)).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Building \d+\.\ds \(3\/6\)$/);

    door.open();
    const { code, screen } = await terminal.finished();
    expect(code).toBe(0);
    const final = lines(screen);
    const imageId = final.find((line) => /^sha256:[0-9a-f]{64}$/.test(line)) ?? "";
    removeImageAfterTest(imageId);
    expect(imageId).not.toBe("");
    expect(final[0]).toBe("[+] Building .");
    // Every step once, with its time; the log lines collapsed away; no frame left over.
    for (const step of [
      "[1/6] FROM busybox",
      "[3/6] COPY hello.txt /hello.txt",
      "[4/6] RUN for i in",
      "[5/6] CMD",
    ]) {
      expect(final.filter((line) => line.startsWith(` => ${step}`))).toHaveLength(1);
    }
    expect(final.find((line) => line.startsWith(" => [4/6] RUN"))).toMatch(/ \d+\.\ds$/);
    expect(final.some((line) => line.startsWith(" => => #"))).toBe(false);
    expect(screen).not.toMatch(SPINNER);
    expect(final).toContainEqual(expect.stringMatching(/^ => writing image [0-9a-f]{12} +done$/));
    expect(final).toContain(` => naming to ${name}:tty`);
    expect(final).toContainEqual(
      expect.stringMatching(/^\[\+\] Building \d+\.\ds \(6\/6\) FINISHED$/),
    );
    expect(final.at(-1)).toBe("[exit 0]");
  });

  it("colours the final screen, and not with NO_COLOR or --no-color", async () => {
    const context = await contextWith({ Dockerfile: dockerfileLines("FROM busybox", "CMD true") });
    const coloured = await Terminal.start(["build", "."], { cwd: context });
    expect((await coloured.finished()).code).toBe(0);
    const withColour = await coloured.screen(true);
    removeImageAfterTest(/sha256:[0-9a-f]{64}/.exec(withColour)?.[0] ?? "");
    // tmux re-encodes what it shows: green FINISHED comes back as an SGR sequence.
    expect(withColour).toMatch(new RegExp(`${ESC}\\[[0-9;]*32m[^\\n]*FINISHED`));

    for (const [args, env] of [
      [["build", "."], { NO_COLOR: "1" }],
      [["--no-color", "build", "."], {}],
      [["build", "--no-color", "."], {}],
    ] as const) {
      const plain = await Terminal.start(args, { cwd: context, env });
      expect((await plain.finished()).code).toBe(0);
      const screen = await plain.screen(true);
      expect(screen).toContain("FINISHED");
      expect(screen).not.toContain(`${ESC}[`);
    }
  });

  it("keeps the failing step's log and the engine's message on screen, and exits 1", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines(
        "FROM busybox",
        "RUN echo first words && echo last words && exit 7",
      ),
    });
    const terminal = await Terminal.start(["build", "--network", "none", "."], { cwd: context });
    const { code, screen } = await terminal.finished();
    expect(code).toBe(1);
    const final = lines(screen);
    expect(final).toContainEqual(
      expect.stringMatching(/^ => ERROR \[3\/4\] RUN echo first words .* \d+\.\ds$/),
    );
    expect(final).toContain(" => => # first words");
    expect(final).toContain(" => => # last words");
    expect(final).toContainEqual(
      expect.stringMatching(/^\[\+\] Building \d+\.\ds \(2\/4\) FAILED$/),
    );
    expect(final).toContain(
      "ERROR: The command '/bin/sh -c echo first words && echo last words && exit 7' returned a non-zero code: 7",
    );
    expect(screen).not.toMatch(SPINNER);
  });

  it("shows the push and collapses its layers into one line when done", async () => {
    const context = await contextWith({
      Dockerfile: dockerfileLines("FROM busybox", "COPY a.txt /a.txt", "COPY b.txt /b.txt"),
      "a.txt": `${randomUUID()}\n`,
      "b.txt": `${randomUUID()}\n`,
    });
    const name = uniqueName();
    const repository = name.slice("localhost/".length);
    const terminal = await Terminal.start(
      ["build", "-t", `${name}:pushed`, "--push", "http://127.0.0.1:5555", "."],
      { cwd: context },
    );
    const { code, screen } = await terminal.finished();
    expect(code).toBe(0);
    const final = lines(screen);
    removeImageAfterTest(final.find((line) => /^sha256:[0-9a-f]{64}$/.test(line)) ?? "");
    expect(final).toContain(`[+] Pushing ${repository}:pushed to http://127.0.0.1:5555`);
    expect(final).toContainEqual(expect.stringMatching(/^ => 3 layers: .*\d+ pushed/));
    expect(final).toContainEqual(
      expect.stringMatching(/^ => digest: sha256:[0-9a-f]{64} size: \d+$/),
    );
    expect(final).toContainEqual(expect.stringMatching(/^\[\+\] Pushing \d+\.\ds FINISHED$/));
    expect(final).toContain(`127.0.0.1:5555/${repository}:pushed`);
    // No per-layer progress bar is left.
    expect(screen).not.toMatch(/\[=*>? *\]/);
  });

  it("draws BuildKit vertices and half-pushed layers with bars, then collapses them", async () => {
    const [node, importFlag, tsx] = BIN_COMMAND as [string, string, string];
    const replay = path.resolve(import.meta.dirname, "../cli-tty-replay.ts");
    const go = path.join(await emptyDir(), "go");
    const terminal = await Terminal.start([go], { cwd: path.resolve(import.meta.dirname, "..") }, [
      node,
      importFlag,
      tsx,
      replay,
    ]);

    let live = "";
    await until("the running vertices", async () => {
      live = await terminal.screen();
      return live.includes("installing package 9");
    });
    const liveLines = lines(live);
    expect(liveLines[0]).toBe("[+] Building replayed");
    expect(liveLines).toContainEqual(
      expect.stringMatching(/^ => \[internal\] load build definition from Dockerfile +0\.1s$/),
    );
    expect(liveLines).toContainEqual(
      expect.stringMatching(
        /^ => CACHED \[1\/3\] FROM docker\.io\/library\/busybox:latest +0\.0s$/,
      ),
    );
    expect(
      liveLines.filter((line) => line.includes("FROM docker.io/library/busybox")),
    ).toHaveLength(1);
    expect(liveLines).toContainEqual(
      expect.stringMatching(/^ => \[2\/3\] RUN \.\/install\.sh +\d+\.\ds$/),
    );
    expect(liveLines).toContainEqual(
      expect.stringMatching(/^ => => transferring context: 1\.5MB \/ 3MB/),
    );
    expect(liveLines.filter((line) => line.startsWith(" => => # "))).toEqual(
      [4, 5, 6, 7, 8, 9].map((i) => ` => => # installing package ${i}`),
    );
    expect(liveLines.at(-1)).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Building \d+\.\ds \(2\/4\)$/);

    await writeFile(go, "");
    let pushing = "";
    // Wait for the whole state asserted below: the layers' "Preparing" lines come a frame before
    // their bars, and a screen caught in between failed the test.
    await until("the push's layers", async () => {
      pushing = await terminal.screen();
      return pushing.includes("bbbbbbbbbbbb Pushing") && pushing.includes("Layer already exists");
    });
    const pushLines = lines(pushing);
    expect(pushLines).toContainEqual(
      expect.stringMatching(/^ => aaaaaaaaaaaa Pushing +\[=+>? *\] 1\.2MB\/4MB$/),
    );
    expect(pushLines).toContainEqual(
      expect.stringMatching(/^ => bbbbbbbbbbbb Pushing +\[=+>? *\] 3MB\/12MB$/),
    );
    expect(pushLines).toContainEqual(
      expect.stringMatching(/^ => cccccccccccc Layer already exists$/),
    );

    await writeFile(`${go}2`, "");
    const { code, screen } = await terminal.finished();
    expect(code).toBe(0);
    const final = lines(screen);
    expect(final.filter((line) => line.includes("[2/3] RUN ./install.sh"))).toEqual([
      expect.stringMatching(/^ => \[2\/3\] RUN \.\/install\.sh +2\.5s$/),
    ]);
    expect(final).toContainEqual(
      expect.stringMatching(/^ => \[internal\] load build context +0\.5s$/),
    );
    expect(
      final.some((line) => line.includes("installing package") || line.includes("transferring")),
    ).toBe(false);
    expect(final).toContainEqual(
      expect.stringMatching(/^\[\+\] Building \d+\.\ds \(4\/4\) FINISHED$/),
    );
    expect(final).toContainEqual(
      expect.stringMatching(/^ => 3 layers: 2 pushed, 1 layer already exists \(16MB uploaded\)$/),
    );
    expect(final).toContainEqual(` => digest: sha256:${"cd".repeat(32)} size: 1234`);
    expect(final.some((line) => /aaaaaaaaaaaa|\[=/.test(line))).toBe(false);
    expect(final).toContain("replay done");
    expect(screen).not.toMatch(SPINNER);
  });
});
