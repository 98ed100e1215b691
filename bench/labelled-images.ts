/**
 * The BuildKit benchmarks' images: the label every one of them carries (ours through the child's
 * `IMAGE_LABELS`, the CLI's through `--label`), and their removal by it at the end of a run.
 * @module
 */
import { execFileSync } from "node:child_process";

/** The label of every image the BuildKit benchmarks build, and of no other. */
export const BUILDKIT_BENCH_LABEL = "io.prefect-dockerutils.bench=buildkit";

/** Removes every image carrying `label`, through the `docker` CLI at `docker`. */
export function removeLabelledImages(docker: string, label: string): void {
  const images = execFileSync(docker, ["images", "-a", "-q", "--filter", `label=${label}`], {
    encoding: "utf8",
  })
    .split("\n")
    .filter(Boolean);
  if (images.length === 0) return;
  try {
    execFileSync(docker, ["rmi", "-f", ...new Set(images)], { stdio: "ignore" });
  } catch {
    // Already gone.
  }
}
