// A Dockerfile named inside the context but reached through a symlink that leaves it is refused
// by BuildKit as by the classic builder, before anything is sent: not one byte of the file it
// leads to may be read, and so none may appear in an error (the engine would print its first
// word: "unknown instruction: HTTPS://ALICE:GHP_...").
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { BuildContextError, buildImage, type ProgressEvent } from "../../../src/index.js";
import { buildDockerImage, clearStepCache } from "../../../src/steps.js";
import { tempDir } from "../../support/files.js";
import { StringStream } from "../support.js";

const SECRET = "HTTPS://ALICE:GHP_0utsideTheContext0123456789@example.com";

/** Every text an error carries: its message, step, log tail and causes, as far as they go. */
function everythingSaid(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current instanceof Error && depth < 10; depth++) {
    const { message, stack } = current;
    const { step, logTail } = current as { step?: unknown; logTail?: unknown };
    parts.push(message, stack ?? "", String(step ?? ""), JSON.stringify(logTail ?? []));
    current = current.cause;
  }
  return parts.join("\n");
}

/** A context whose `dflink` leads to a folder outside it holding `hostfile`. */
async function contextWithOutsideLink(): Promise<{ context: string; outside: string }> {
  const root = await tempDir();
  const outside = path.join(root, "outside");
  const context = path.join(root, "context");
  await mkdir(outside);
  await mkdir(context);
  await writeFile(path.join(outside, "hostfile"), `${SECRET}\nFROM busybox\n`);
  await writeFile(path.join(context, "app.txt"), "app\n");
  await symlink(outside, path.join(context, "dflink"));
  return { context, outside };
}

beforeEach(() => clearStepCache());

describe("a Dockerfile reached through a symlink out of the context", () => {
  it.each(["buildkit", "classic"] as const)(
    "is refused by the %s builder, naming the link and nothing of the file",
    async (builder) => {
      const { context, outside } = await contextWithOutsideLink();
      const events: ProgressEvent[] = [];
      const output = new StringStream();
      const error = await buildImage(context, {
        builder,
        networkMode: "none",
        dockerfile: "dflink/hostfile",
        retries: 0,
        streamProgressTo: output,
        onProgress: (event) => events.push(event),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BuildContextError);
      expect((error as BuildContextError).path).toBe(path.join(context, "dflink/hostfile"));
      expect((error as Error).message).toContain("leads outside the build context");
      expect((error as Error).message).toContain(path.join(outside, "hostfile"));
      const said = everythingSaid(error);
      for (const word of ["HTTPS", "ALICE", "GHP_", "0utsideTheContext"]) {
        expect(said).not.toContain(word);
      }
      // Refused before the build: nothing was synced or run, nothing printed.
      expect(events.filter((event) => event.type !== "retry")).toEqual([]);
      expect(output.getValue()).toBe("");
    },
  );

  it("is refused by the deploy step with build_backend: buildx", async () => {
    const { context } = await contextWithOutsideLink();
    const error = await buildDockerImage(
      {
        image_name: "localhost/pdu-dockerfile-link",
        tag: "never",
        path: context,
        dockerfile: "dflink/hostfile",
        build_backend: "buildx",
        network: "none",
        pull: false,
      },
      { streamProgressTo: null, retries: 0 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildContextError);
    const said = everythingSaid(error);
    for (const word of ["HTTPS", "ALICE", "GHP_", "0utsideTheContext"]) {
      expect(said).not.toContain(word);
    }
  });
});
