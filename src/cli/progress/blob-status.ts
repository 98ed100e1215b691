/**
 * A multi-platform push's blob events as push status lines: `linux/arm64 5b69014fee14: Pushed`.
 * @module
 */
import type { BlobEvent, LayerStatusEvent } from "../../index.js";
import { shortId } from "../format.js";

const STATUS: Readonly<Record<BlobEvent["state"], string>> = {
  exists: "Layer already exists",
  mounted: "Mounted",
  uploading: "Pushing",
  uploaded: "Pushed",
};

/** The push status event a blob event reads as. */
export function blobStatus(event: BlobEvent): LayerStatusEvent {
  const status =
    event.state === "mounted" && event.from ? `Mounted from ${event.from}` : STATUS[event.state];
  return {
    type: "status",
    operation: "push",
    id: `${event.platform} ${shortId(event.digest)}`,
    status,
    progress: undefined,
    current: event.state === "uploading" ? event.current : undefined,
    total: event.state === "uploading" ? event.total : undefined,
  };
}
