/**
 * Makes the README's pictures of the command line's terminal display from a real run: the built
 * bin builds and pushes a small image inside tmux (a real pseudo-terminal), the screen is read
 * with `tmux capture-pane -e` while a RUN step runs and after the command ends, and each screen
 * is drawn as an SVG in docs/.
 *
 *   npm run build && npx tsx scripts/cli-screenshots.ts
 *
 * Needs the engine, busybox:latest and the registry on 127.0.0.1:5555 from
 * scripts/test-services.sh, and tmux. Everything it makes (context, image names, tmux server) is
 * removed again.
 * @module
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import Anser from "anser";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..");
const MAIN = path.join(ROOT, "dist/cli/main.js");
const WIDTH = 96;
const HEIGHT = 24;

/** Draws a screen captured with `capture-pane -e` (text plus SGR colours) as an SVG. */
export function screenToSvg(screen: string, title: string): string {
  const charWidth = 8.4;
  const lineHeight = 18;
  const padding = 14;
  const lines = screen.replace(/\n+$/, "").split("\n");
  const width = Math.ceil(WIDTH * charWidth + 2 * padding);
  const height = Math.ceil(lines.length * lineHeight + 2 * padding + 24);
  const xml = (text: string) =>
    text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  const rows = lines.map((line, index) => {
    const spans = Anser.ansiToJson(line, { json: true, remove_empty: true }).map((chunk) => {
      const attributes = [`fill="${chunk.fg ? `rgb(${chunk.fg})` : "#d4d4d4"}"`];
      if (chunk.decorations.includes("bold")) attributes.push('font-weight="bold"');
      if (chunk.decorations.includes("dim")) attributes.push('opacity="0.6"');
      return `<tspan ${attributes.join(" ")}>${xml(chunk.content)}</tspan>`;
    });
    const y = padding + 24 + (index + 1) * lineHeight - 4;
    return `  <text x="${padding}" y="${y}" xml:space="preserve">${spans.join("")}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14">
  <title>${xml(title)}</title>
  <rect width="100%" height="100%" rx="8" fill="#1e1e1e"/>
  <circle cx="${padding + 6}" cy="${padding + 4}" r="6" fill="#ff5f56"/>
  <circle cx="${padding + 26}" cy="${padding + 4}" r="6" fill="#ffbd2e"/>
  <circle cx="${padding + 46}" cy="${padding + 4}" r="6" fill="#27c93f"/>
${rows.join("\n")}
</svg>
`;
}

async function tmux(socket: string, ...args: string[]): Promise<string> {
  return (await run("tmux", ["-L", socket, "-f", "/dev/null", ...args])).stdout;
}

async function main(): Promise<void> {
  await chmod(MAIN, 0o755);
  const work = await mkdtemp(path.join(os.tmpdir(), "pdu-screens-"));
  const context = path.join(work, "flows");
  const socket = `pdu-screens-${randomUUID()}`;
  const repository = "pdu-demo/flows";
  try {
    await run("mkdir", ["-p", context]);
    await writeFile(path.join(context, "flow.py"), 'print("hello from a flow")\n');
    await writeFile(
      path.join(context, "Dockerfile"),
      [
        "FROM busybox",
        "WORKDIR /opt/prefect/flows",
        "COPY flow.py .",
        'RUN for step in fetch resolve install verify; do echo "$step dependencies"; sleep 0.7; done',
        'CMD ["cat", "flow.py"]',
        "",
      ].join("\n"),
    );
    const binDir = path.join(work, "bin");
    await run("mkdir", ["-p", binDir]);
    await run("ln", ["-s", MAIN, path.join(binDir, "prefect-dockerutils")]);
    const args = `build --network host -t ${repository}:1.0 --push http://127.0.0.1:5555 .`;
    const command = `cd '${context}' && export PATH='${binDir}':$PATH && clear && echo '$ prefect-dockerutils ${args}' && prefect-dockerutils ${args}; echo "[exit $?]"; sleep 600`;
    await tmux(
      socket,
      "new-session",
      "-d",
      "-x",
      String(WIDTH),
      "-y",
      String(HEIGHT),
      "sh",
      "-c",
      command,
    );

    let running = "";
    for (let i = 0; i < 300 && !running; i++) {
      const screen = await tmux(socket, "capture-pane", "-p", "-e");
      if (screen.includes("install dependencies")) running = screen;
      else await sleep(50);
    }
    let finished = "";
    for (let i = 0; i < 600 && !finished; i++) {
      const screen = await tmux(socket, "capture-pane", "-p", "-e");
      if (/\[exit \d+\]/.test(screen)) finished = screen;
      else await sleep(100);
    }
    if (!running || !finished) throw new Error("the build did not show the expected screens");
    await writeFile(
      path.join(ROOT, "docs/cli-build-running.svg"),
      screenToSvg(running, "prefect-dockerutils build, while a RUN step runs"),
    );
    await writeFile(
      path.join(ROOT, "docs/cli-build-finished.svg"),
      screenToSvg(
        finished.replace(/\[exit \d+\]\n?/, ""),
        "prefect-dockerutils build --push, finished",
      ),
    );
    console.log("wrote docs/cli-build-running.svg and docs/cli-build-finished.svg");
  } finally {
    await tmux(socket, "kill-server").catch(() => undefined);
    await run("/usr/bin/docker", ["rmi", `${repository}:1.0`]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
