import { PREFECT_VERSION } from "./prefect-image.js";

/**
 * Labels applied to every image built by {@link buildImage}. Mutable on purpose, like Prefect's
 * `IMAGE_LABELS` dict: add to it to label every image your process builds.
 */
export const IMAGE_LABELS: Record<string, string> = {
  "io.prefect.version": PREFECT_VERSION,
};

/** Labels Prefect applies to containers it runs. Mutable, like Prefect's `CONTAINER_LABELS`. */
export const CONTAINER_LABELS: Record<string, string> = {
  "io.prefect.version": PREFECT_VERSION,
};
