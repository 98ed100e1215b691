// A progress listener that throws ends the build with its error, whatever event it throws on:
// never an uncaught exception or an unhandled rejection that outlives the build.
import { describe, expect, it } from "vitest";
import { buildImage } from "../../../src/index.js";
import { contextWith } from "../buildkit-helpers.js";

describe("a throwing progress listener in a BuildKit build", () => {
  it.each(["context-sync", "vertex"])(
    "rejects the build with its error when it throws on %s",
    async (type) => {
      const context = await contextWith({
        Dockerfile: "FROM busybox:latest\nCOPY a.txt /a.txt\n",
        "a.txt": "a\n",
      });
      const failure = new Error(`listener broke on ${type}`);
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown) => rejections.push(reason);
      process.on("unhandledRejection", onRejection);
      try {
        await expect(
          buildImage(context, {
            builder: "buildkit",
            networkMode: "none",
            noCache: true,
            onProgress: (event) => {
              if (event.type === type) throw failure;
            },
          }),
        ).rejects.toBe(failure);
        // Whatever was still running (the file sync's reports) had its turn.
        await new Promise((resolve) => setTimeout(resolve, 200));
      } finally {
        process.off("unhandledRejection", onRejection);
      }
      expect(rejections).toEqual([]);
    },
  );
});
