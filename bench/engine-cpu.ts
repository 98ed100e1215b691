/**
 * The engine's side of a build: the CPU time that dockerd and its containerd spent while one
 * client process ran, read from `/proc/<pid>/stat` before and after. It tells whether a
 * difference in wall time between two clients is the client's own or the engine's work (issue 20
 * asks a missed target to show that floor). Children the engine has reaped (runc, a RUN step's
 * processes) count through `cutime`/`cstime`.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/** Linux's `USER_HZ`: `/proc/<pid>/stat` counts CPU time in 1/100 s on every architecture. */
const TICKS_PER_SECOND = 100;
const ENGINE_COMMANDS = new Set(["dockerd", "containerd"]);

/** The pids of the engine's long-lived processes, found once per benchmark run. */
export function enginePids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (ENGINE_COMMANDS.has(readFileSync(`/proc/${entry}/comm`, "utf8").trim())) {
        pids.push(Number(entry));
      }
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

/** User + system CPU of `pids` and their reaped children so far, in ms (0 for a pid gone). */
export function engineCpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the parenthesised command, which may itself hold spaces: state is field 3,
      // utime..cstime are fields 14-17.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      for (const index of [11, 12, 13, 14]) ticks += Number(fields[index] ?? 0);
    } catch {
      // The engine restarted: the sample undercounts, and the report shows it as an outlier.
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
