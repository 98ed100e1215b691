/**
 * Run by test/integration/engine/engine-requests.test.ts in a child process, with DOCKER_HOST set to a
 * proxy that makes the real engine answer the image-tag request with a 301 redirect. Pushes once
 * through the library's own connection and tags once through its dockerode client, prints how
 * each settled, waits for any stray follow-up request to fail, and exits on its own. A client
 * that followed the redirect would reach another host, and crash the process when that host does
 * not answer.
 *
 * Input (environment): DOCKER_HOST, PDU_IMAGE (a local image ID), PDU_REGISTRY_URL.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { dockerClient } from "../../../src/dockerode.js";
import { pushImage } from "../../../src/index.js";

const image = process.env.PDU_IMAGE ?? "";
const registryUrl = process.env.PDU_REGISTRY_URL ?? "";

function describe(error: unknown): string {
  const status =
    (error as { statusCode?: unknown }).statusCode ??
    (error as { cause?: { statusCode?: unknown } }).cause?.statusCode;
  return `${(error as Error).name} ${String(status)}: ${(error as Error).message}`;
}

try {
  await pushImage(image, registryUrl, "pdu-redirect", { retries: 0 });
  process.stdout.write("push resolved\n");
} catch (error) {
  process.stdout.write(`push rejected: ${describe(error)}\n`);
}
try {
  await dockerClient().getImage(image).tag({ repo: "localhost/pdu-redirect", tag: "x" });
  process.stdout.write("dockerode resolved\n");
} catch (error) {
  process.stdout.write(`dockerode rejected: ${describe(error)}\n`);
}
await sleep(1000);
process.stdout.write("done\n");
