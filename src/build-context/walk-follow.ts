import path from "node:path";
import type { BuildContextFs } from "./context-fs.js";

/** Stops a chain of links that never ends (each link is resolved once anyway). */
const MAX_LINKS = 255;

/**
 * fsutil's `FollowLinks`: the context paths to include for `paths`, i.e. each path, every symlink
 * on the way to it and where those lead, absolute targets taken relative to `root` (as BuildKit
 * does). Only links are read, never through them. Sorted, without paths a shorter one covers.
 */
export function followTargets(
  fs: BuildContextFs,
  root: string,
  paths: readonly string[],
): string[] {
  const resolved = new Set<string>();
  const visit = (start: string, budget: number): void => {
    const parts = path.posix
      .join(".", start)
      .split("/")
      .filter((part) => part !== "" && part !== ".");
    let current = "";
    for (let index = 0; index < parts.length; index++) {
      current = current === "" ? (parts[index] as string) : `${current}/${parts[index]}`;
      const rest = parts.slice(index + 1).join("/");
      const target = linkTarget(fs, root, current);
      if (target !== undefined) {
        if (resolved.has(current)) return;
        resolved.add(current);
        if (budget > 0) visit(rest === "" ? target : `${target}/${rest}`, budget - 1);
        return;
      }
    }
    if (current !== "") resolved.add(current);
  };
  for (const entry of paths) visit(entry, MAX_LINKS);
  const sorted = [...resolved].sort();
  return sorted.filter(
    (candidate) =>
      !sorted.some((other) => other !== candidate && candidate.startsWith(`${other}/`)),
  );
}

/** The root-relative target of the symlink at `relative`, or `undefined` when it is not one. */
function linkTarget(fs: BuildContextFs, root: string, relative: string): string | undefined {
  const host = path.join(root, relative);
  try {
    if (!fs.lstatSync(host).isSymbolicLink()) return undefined;
  } catch {
    return undefined;
  }
  const link = path.posix.normalize(fs.readlinkSync(host));
  const joined = link.startsWith("/")
    ? link
    : path.posix.join("/", path.posix.dirname(relative), link);
  // Clean against "/" so ".." cannot climb out of the root.
  return path.posix.normalize(joined).replace(/^\/+/, "");
}
