/**
 * Run by buildkit-lifecycle.test.ts in a child process (with DEBUG=*): BuildKit builds that
 * succeed, fail inside the stream, fail at HTTP level, are aborted, and pull a private base with a
 * login; it prints everything it gets and then simply returns. The process must exit by itself:
 * any session socket, gRPC server or timer left behind would keep it alive.
 *
 * Input (environment): PDU_CONTEXT (a folder with Dockerfile.ok, Dockerfile.fail, Dockerfile.slow
 * and Dockerfile.private), PDU_REGISTRY, PDU_USER, PDU_PASSWORD, PDU_TEST_RUN.
 */
import path from "node:path";
import { inspect } from "node:util";
import { buildImage, IMAGE_LABELS } from "../../src/index.js";

const context = process.env.PDU_CONTEXT ?? "";
const registry = process.env.PDU_REGISTRY ?? "";
IMAGE_LABELS["io.prefect-dockerutils.test-run"] = process.env.PDU_TEST_RUN ?? "";
const common = {
  builder: "buildkit",
  networkMode: "none",
  streamProgressTo: process.stdout,
  onProgress: (event: unknown) => process.stdout.write(`${inspect(event, { depth: 5 })}\n`),
  buildArgs: { BUST: `${process.pid}-${Date.now()}` },
  retries: 0,
  auth: {
    [registry]: { username: process.env.PDU_USER ?? "", password: process.env.PDU_PASSWORD ?? "" },
  },
} as const;

async function step(name: string, run: () => Promise<unknown>): Promise<void> {
  try {
    process.stdout.write(`${name}: ${inspect(await run(), { depth: 5 })}\n`);
  } catch (error) {
    process.stdout.write(`${name} failed: ${inspect(error, { depth: 5 })}\n`);
  }
}

await step("succeeds", () => buildImage(context, { ...common, dockerfile: "Dockerfile.ok" }));
await step("fails in the stream", () =>
  buildImage(context, { ...common, dockerfile: "Dockerfile.fail" }),
);
await step("fails at HTTP level", () =>
  buildImage(context, { ...common, networkMode: "bridge", dockerfile: "Dockerfile.ok" }),
);
await step("aborted", () => {
  const controller = new AbortController();
  return buildImage(context, {
    ...common,
    dockerfile: "Dockerfile.slow",
    signal: controller.signal,
    onProgress: (event) => {
      if ((event as { type: string }).type === "vertex-log") controller.abort(new Error("stop"));
    },
  });
});
await step("inactivity", () =>
  buildImage(context, { ...common, dockerfile: "Dockerfile.slow", inactivityTimeoutMs: 1_500 }),
);
await step("private base", () =>
  buildImage(context, { ...common, dockerfile: "Dockerfile.private" }),
);
await step("private base, wrong password", () =>
  buildImage(context, {
    ...common,
    dockerfile: "Dockerfile.private",
    auth: { [registry]: { username: process.env.PDU_USER ?? "", password: "not-it" } },
  }),
);
process.stdout.write(`done ${path.basename(context)}\n`);
