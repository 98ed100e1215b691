// How ImageBuilder turns paths into COPY lines and host files, without an engine: the path rules
// (nothing from outside baseDirectory, no Dockerfile injection) and its states.
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ImageBuilder, InvalidArgumentError, InvalidStateError } from "../../src/index.js";
import { tempDir, tree } from "../support/files.js";

/** A base directory with a file, a folder, and links that stay inside it or leave it. */
async function baseWithLinks(): Promise<{ base: string; outside: string }> {
  const root = await tempDir();
  const base = path.join(root, "base");
  const outside = path.join(root, "outside");
  await tree(root, {
    "base/hello.txt": "hello\n",
    "base/sub/inner.txt": "inner\n",
    "outside/secret.txt": "secret\n",
  });
  await symlink(outside, path.join(base, "link-out"));
  await symlink(path.join(outside, "secret.txt"), path.join(base, "link-secret"));
  await symlink("sub", path.join(base, "link-in"));
  return { base, outside };
}

describe("copy() and paths outside baseDirectory", () => {
  it("refuses a relative source whose parent is a symlink leaving baseDirectory", async () => {
    const { base } = await baseWithLinks();
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    expect(() => image.copy("link-out/secret.txt", "/s")).toThrow(InvalidArgumentError);
    expect(() => image.copy("link-out/secret.txt", "/s")).toThrow(
      /link-out leads through a symlink/,
    );
    expect(image.dockerfileLines).toEqual(["FROM busybox"]);
  });

  it("refuses the same source given absolutely", async () => {
    const { base } = await baseWithLinks();
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    expect(() => image.copy(path.join(base, "link-out", "secret.txt"), "/s")).toThrow(
      InvalidArgumentError,
    );
    expect(image.dockerfileLines).toEqual(["FROM busybox"]);
  });

  it("accepts a parent symlink that stays inside baseDirectory", async () => {
    const { base } = await baseWithLinks();
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.copy("link-in/inner.txt", "/inner.txt");
    image.assertHasLine("COPY link-in/inner.txt /inner.txt");
  });

  it("accepts a source that is itself a symlink (it is sent as the link)", async () => {
    const { base } = await baseWithLinks();
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.copy("link-secret", "/s");
    image.copy(path.join(base, "link-out"), "/o");
    image.assertHasFile("link-secret", "/s");
    image.assertHasFile("link-out", "/o");
  });

  it("resolves `..` lexically, without following the link before it", async () => {
    const { base } = await baseWithLinks();
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.copy("link-out/../hello.txt", "/h");
    image.assertHasLine("COPY hello.txt /h");
    expect(() => image.copy("sub/../../outside/secret.txt", "/s")).toThrow(/not in the subpath/);
  });

  it("accepts an absolute source under the real name of a linked baseDirectory", async () => {
    const { base } = await baseWithLinks();
    const alias = path.join(path.dirname(base), "alias");
    await symlink(base, alias);
    await using image = await new ImageBuilder("busybox", { baseDirectory: alias }).open();
    image.copy(path.join(base, "hello.txt"), "/h");
    image.copy(path.join(alias, "sub"), "/sub");
    image.assertHasLine("COPY hello.txt /h");
    image.assertHasLine("COPY sub /sub");
  });

  it("fails at copy() for a missing source, with a temporary or a given context", async () => {
    const { base } = await baseWithLinks();
    const context = await tempDir();
    await using temporary = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    const given = new ImageBuilder("busybox", { baseDirectory: base, context });
    for (const image of [temporary, given]) {
      expect(() => image.copy("nope.txt", "/n")).toThrow(InvalidArgumentError);
      expect(() => image.copy("nope.txt", "/n")).toThrow(
        `Cannot copy "nope.txt": ${path.join(base, "nope.txt")} does not exist`,
      );
      expect(() => image.copy("nope/inner.txt", "/n")).toThrow(/does not exist/);
      expect(image.dockerfileLines).toEqual(["FROM busybox"]);
    }
  });

  it("refuses wildcard characters in a source, which COPY would expand", async () => {
    const base = await tempDir();
    await tree(base, { "[id].py": "x", "a*b": "x" });
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    expect(() => image.copy("[id].py", "/x")).toThrow(/wildcards/);
    expect(() => image.copy("a*b", "/x")).toThrow(/wildcards/);
  });

  it("writes copy('.') as a folder of the context, so only the base directory's files are copied", async () => {
    const { base } = await baseWithLinks();
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.copy(".", "/opt/prefect/flows/");
    image.assertHasLine("COPY .base-directory /opt/prefect/flows");
    image.assertHasFile(".", "/opt/prefect/flows/");
    image.assertHasFile(base, "/opt/prefect/flows");
  });
});

describe("Dockerfile injection through paths", () => {
  const controls = ["\n", "\r", "\u0000", "\t", "\u001b", "\u007f", "\u0085"];

  it.each(controls)("refuses the control character %j in copy() paths", async (control) => {
    const base = await tempDir();
    await tree(base, { f: "x" });
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    expect(() => image.copy("f", `/x${control}RUN echo INJECTED > /injected`)).toThrow(
      InvalidArgumentError,
    );
    expect(() => image.copy(`f${control}`, "/x")).toThrow(/control characters/);
    expect(image.dockerfileLines).toEqual(["FROM busybox"]);
  });

  it.each(controls)(
    "refuses the control character %j in writeText() destinations",
    async (control) => {
      await using image = await new ImageBuilder("busybox").open();
      expect(() => image.writeText("t", `/t${control}RUN echo INJECTED > /injected`)).toThrow(
        /writeText\(\) destination must not contain control characters/,
      );
      expect(image.dockerfileLines).toEqual(["FROM busybox"]);
    },
  );

  it("refuses a base image with a newline", () => {
    expect(() => new ImageBuilder("busybox\nRUN echo INJECTED")).toThrow(InvalidArgumentError);
  });

  it("writes paths with spaces, quotes and $ in the JSON form", async () => {
    const base = await tempDir();
    await tree(base, { "my file.txt": "x", "it's $HOME.txt": "x", "-flag": "x" });
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.copy("my file.txt", "/x y/");
    image.copy("it's $HOME.txt", "/plain");
    image.copy("-flag", "/f");
    image.writeText("t", "/t u.txt");
    expect(image.dockerfileLines.slice(1)).toEqual([
      'COPY ["my file.txt", "/x y"]',
      `COPY ["it\\\\'s \\\\$HOME.txt", "/plain"]`,
      'COPY ["-flag", "/f"]',
      `COPY [".${"e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8"}", "/t u.txt"]`,
    ]);
    image.assertHasFile("my file.txt", "/x y");
    image.assertHasFile(path.join(base, "it's $HOME.txt"), "/plain");
    image.assertHasFile("-flag", "/f");
  });

  it("keeps Prefect's plain form for ordinary paths", async () => {
    const base = await tempDir();
    await tree(base, { "flows/etl.py": "x" });
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.copy("flows/etl.py", "/opt/prefect/flows/etl.py");
    image.writeText("hello", "./greeting.txt");
    expect(image.dockerfileLines.slice(1)).toEqual([
      "COPY flows/etl.py /opt/prefect/flows/etl.py",
      "COPY .2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 greeting.txt",
    ]);
  });

  it("lets assertHasFile read a hand-written COPY line in either form", async () => {
    const base = await tempDir();
    await using image = await new ImageBuilder("busybox", { baseDirectory: base }).open();
    image.addLine('COPY ["a b","/x"]');
    image.addLine("COPY c   /y/");
    image.assertHasFile("a b", "/x");
    image.assertHasFile("c", "/y");
    expect(() => image.assertHasFile("a", "/x")).toThrow("Expected 'COPY a /x' not found");
    expect(() => image.assertHasFile("a b", "/y")).toThrow(
      `Expected 'COPY ["a b", "/y"]' not found`,
    );
  });
});

describe("ImageBuilder states and arguments", () => {
  it("checks a given context at construction", async () => {
    const root = await tempDir();
    await writeFile(path.join(root, "file"), "x");
    const missing = path.join(root, "missing");
    expect(() => new ImageBuilder("busybox", { context: missing })).toThrow(InvalidArgumentError);
    expect(() => new ImageBuilder("busybox", { context: missing })).toThrow(
      `context ${JSON.stringify(missing)} (${missing}) does not exist`,
    );
    expect(() => new ImageBuilder("busybox", { context: path.join(root, "file") })).toThrow(
      /is not a folder/,
    );
    expect(() => new ImageBuilder("busybox", { context: path.join(root, "file", "x") })).toThrow(
      /does not exist/,
    );
  });

  it("says the builder was closed when used after close()", async () => {
    const image = await new ImageBuilder("busybox").open();
    await image.close();
    for (const use of [() => image.copy("x", "/x"), () => image.writeText("x", "/x")]) {
      expect(use).toThrow(InvalidStateError);
      expect(use).toThrow(/was closed/);
    }
    await expect(image.build()).rejects.toThrow(InvalidStateError);
    await expect(image.build()).rejects.toThrow(/was closed/);
    await expect(image.open()).rejects.toThrow(/was closed/);
    // What was assembled can still be asserted on.
    image.assertHasLine("FROM busybox");
  });

  it("says the builder was closed for a given context too", async () => {
    const context = await tempDir();
    const image = new ImageBuilder("busybox", { context });
    await image.close();
    expect(() => image.writeText("x", "/x")).toThrow(/was closed/);
  });

  it("asks for open() before it is opened", async () => {
    const image = new ImageBuilder("busybox");
    expect(() => image.writeText("x", "/x")).toThrow(InvalidStateError);
    await expect(image.build()).rejects.toThrow(/No context available: call open\(\) first/);
  });

  it("checks build options before anything else", async () => {
    await using image = await new ImageBuilder("busybox").open();
    await expect(image.build({ retries: Number.NaN })).rejects.toThrow(
      "retries must be a whole number from 0 to 10, got NaN",
    );
    await expect(image.build({ tag: "Upper:1" })).rejects.toThrow(InvalidArgumentError);
    await expect(image.build({ dockerfile: "x" } as never)).rejects.toThrow(/no dockerfile option/);
  });

  it.each([
    [{ baseDirectory: 3 }, /baseDirectory must be a string/],
    [{ context: [] }, /context must be a string/],
    ["v1", /ImageBuilder options must be an options object/],
  ])("rejects the constructor options %j", (options, message) => {
    expect(() => new ImageBuilder("busybox", options as never)).toThrow(message);
  });

  it("does not tell observers about a builder whose constructor threw", async () => {
    const { captureBuilders } = await import("../../src/testing.js");
    using builders = captureBuilders();
    expect(() => new ImageBuilder("")).toThrow(InvalidArgumentError);
    expect(builders).toHaveLength(0);
  });

  it("makes a folder for the context only once when open() is called twice at once", async () => {
    const image = new ImageBuilder("busybox");
    const [a, b] = await Promise.all([image.open(), image.open()]);
    expect(a.context).toBe(b.context);
    await image.close();
  });

  it("uses a given context as the base directory by default", async () => {
    const root = await tempDir();
    await mkdir(path.join(root, "ctx"));
    const image = new ImageBuilder("busybox", { context: path.join(root, "ctx") });
    expect(image.context).toBe(path.join(root, "ctx"));
    expect(image.baseDirectory).toBe(path.join(root, "ctx"));
  });
});
