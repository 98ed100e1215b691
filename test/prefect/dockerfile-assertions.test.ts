// Port of Prefect's tests/docker/test_image_builder_assertions.py: no engine needed.
import { AssertionError } from "node:assert";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageBuilder } from "../../src/index.js";
import { captureBuilders } from "../../src/testing.js";

const contexts = path.resolve(import.meta.dirname, "../fixtures/contexts");

let builder: ImageBuilder;
beforeEach(async () => {
  builder = await new ImageBuilder("busybox").open();
  builder.addLine("RUN false"); // proves that nothing is built
});
afterEach(() => builder.close());

describe("captureBuilders", () => {
  async function exampleImageBuildingMethod() {
    await using image = await new ImageBuilder("some-base").open();
    image.addLine("RUN marvinsay 'I can see by infra-red'");
    image.copy(path.join(contexts, "tiny", "hello.txt"), "/hello.txt");
  }

  it("captures builders made while it is active, with `using`", async () => {
    let captured: ImageBuilder[];
    {
      using builders = captureBuilders();
      expect(builders).toHaveLength(0);
      await exampleImageBuildingMethod();
      captured = [...builders];
    }
    expect(captured).toHaveLength(1);
    const [last] = captured as [ImageBuilder];
    last.assertHasLine("FROM some-base");
    last.assertHasLine("RUN marvinsay 'I can see by infra-red'");
    last.assertHasFile(path.join(contexts, "tiny", "hello.txt"), "/hello.txt");
  });

  it("captures builders made inside a callback", async () => {
    const builders = await captureBuilders(async (live) => {
      expect(live).toHaveLength(0);
      await exampleImageBuildingMethod();
    });
    expect(builders).toHaveLength(1);
    builders[0]?.assertHasLine("FROM some-base");
  });

  it("stops capturing once disposed", async () => {
    const builders = captureBuilders();
    builders[Symbol.dispose]();
    new ImageBuilder("after");
    expect(builders).toHaveLength(0);
  });
});

describe("ImageBuilder assertions", () => {
  it("asserts about lines in the Dockerfile", () => {
    builder.addLine("ENTRYPOINT busted");
    builder.assertHasLine("ENTRYPOINT busted");
    expect(() => builder.assertLineAbsent("ENTRYPOINT busted")).toThrow(AssertionError);
    expect(() => builder.assertLineAbsent("ENTRYPOINT busted")).toThrow(
      "Unexpected 'ENTRYPOINT busted' found in Dockerfile at line 3.  Surrounding lines:\n    1: FROM busybox\n    2: RUN false\n    3: ENTRYPOINT busted",
    );
    builder.assertLineAbsent("FOO bar");
    expect(() => builder.assertHasLine("FOO bar")).toThrow(AssertionError);
    expect(() => builder.assertHasLine("FOO bar")).toThrow(
      "Expected 'FOO bar' not found in Dockerfile.  Dockerfile:\n    1: FROM busybox\n    2: RUN false\n    3: ENTRYPOINT busted",
    );
  });

  it("quotes lines as Python's repr does", () => {
    expect(() => builder.assertHasLine("RUN echo 'hi'")).toThrow(
      `Expected "RUN echo 'hi'" not found`,
    );
    expect(() => builder.assertHasLine(`RUN echo 'a' "b"`)).toThrow(
      `Expected 'RUN echo \\'a\\' "b"' not found`,
    );
  });

  it("asserts about line order", () => {
    builder.addLine("RUN first");
    builder.addLine("RUN something else");
    builder.addLine("RUN second");
    builder.assertLineBefore("RUN first", "RUN second");
    expect(() => builder.assertLineBefore("RUN second", "RUN first")).toThrow(
      /^Expected 'RUN second' to appear/,
    );
    builder.assertLineAfter("RUN second", "RUN first");
    expect(() => builder.assertLineAfter("RUN first", "RUN second")).toThrow(
      /^Expected 'RUN second' to appear/,
    );
    expect(() => builder.assertLineAfter("RUN first", "RUN second")).toThrow(
      "Expected 'RUN second' to appear before 'RUN first' in the Dockerfile, but 'RUN second' was at line 5 and 'RUN first' as at line 3.  Surrounding lines:\n    1: FROM busybox\n    2: RUN false\n    3: RUN first\n    4: RUN something else\n    5: RUN second",
    );
  });

  it("asserts about file copies", () => {
    builder.copy(path.join(contexts, "tiny", "hello.txt"), "/hello.txt");
    builder.assertHasFile(path.join(contexts, "tiny", "hello.txt"), "/hello.txt");
    expect(() =>
      builder.assertHasFile(path.join(contexts, "tiny", "hello.txt"), "/elsewhere"),
    ).toThrow(AssertionError);
  });

  it("asserts about directory copies", () => {
    builder.copy(path.join(contexts, "tiny"), "/tiny");
    builder.assertHasFile(path.join(contexts, "tiny"), "/tiny");
  });

  it("writes destinations as PurePosixPath would", () => {
    builder.copy(path.join(contexts, "tiny"), "/app//tiny/");
    builder.assertHasLine("COPY test/fixtures/contexts/tiny /app/tiny");
    builder.writeText("hello", "./greeting.txt");
    builder.assertHasLine(
      "COPY .2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 greeting.txt",
    );
  });
});
