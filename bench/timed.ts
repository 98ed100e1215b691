/**
 * What both benchmark scripts measure a process with: `/usr/bin/time` (Debian package `time`)
 * for its CPU and peak memory, and the wall clock around it. Also their one command-line option
 * reader and the median every report takes.
 * @module
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";

/** One measured process. */
export interface Sample {
  wallMs: number;
  cpuMs: number;
  maxRssKiB: number;
}

/** The median of `values` (the mean of the middle two for an even count; 0 for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The value after `--<name>` on the command line, if given. */
export function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

/**
 * Runs `command` under /usr/bin/time, whose report goes to a file in `workDir`; resolves to wall
 * time, user + system CPU and max RSS, or rejects with the command's stderr when it fails.
 * `onStderr` gets what the command wrote to stderr, once it has exited successfully.
 */
export function timed(
  workDir: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  onStderr?: (text: string) => void,
): Promise<Sample> {
  const report = path.join(workDir, `time-${process.pid}.txt`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn("/usr/bin/time", ["-o", report, "-f", "%U %S %M", command, ...args], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", async (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${stderr}`));
        return;
      }
      onStderr?.(stderr);
      const [user, system, rss] = (await readFile(report, "utf8")).trim().split(/\s+/).map(Number);
      resolve({ wallMs, cpuMs: ((user ?? 0) + (system ?? 0)) * 1000, maxRssKiB: rss ?? 0 });
    });
  });
}
