// The bin's commands that need no engine, and its usage errors, run as a child process.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolvePrefectImageName } from "../../../src/index.js";
import { contextWith, emptyDir, filesIn, runBin } from "../cli-run.js";

const packageVersion = (
  JSON.parse(
    await readFile(path.resolve(import.meta.dirname, "../../../package.json"), "utf8"),
  ) as {
    version: string;
  }
).version;

describe("prefect-dockerutils --version and --help", () => {
  it.each([["--version"], ["-v"]])("prints the package version for %s", async (flag) => {
    const result = await runBin([flag]);
    expect(result).toMatchObject({ code: 0, stdout: `${packageVersion}\n`, stderr: "" });
  });

  it.each([
    [[], /Commands:\n\s+build/],
    [
      ["build"],
      /Usage: prefect-dockerutils build \[options\] \[context\][\s\S]*--secret <spec>[\s\S]*--progress <mode>/,
    ],
    [
      ["push"],
      /Usage: prefect-dockerutils push \[options\] <image> <registry-url> <name>[\s\S]*--tag <tag>/,
    ],
    [["dockerfile"], /Usage: prefect-dockerutils dockerfile \[options\] \[dir\]/],
    [
      ["image-name"],
      /Usage: prefect-dockerutils image-name \[options\][\s\S]*--python-version <x.y>/,
    ],
    [["parse-ref"], /Usage: prefect-dockerutils parse-ref \[options\] <reference>/],
  ])("prints help for %j with --help and exits 0", async (command, usage) => {
    const result = await runBin([...command, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(usage);
    expect(result.stderr).toBe("");
  });
});

describe("prefect-dockerutils usage errors", () => {
  it.each([
    [[], /Usage: prefect-dockerutils \[options\] \[command\]/, /Commands:/],
    [["frobnicate"], /unknown command 'frobnicate'/, /Usage: prefect-dockerutils/],
    [["build", "--bogus"], /unknown option '--bogus'/, /Usage: prefect-dockerutils build/],
    [
      ["build", "--progress", "fancy"],
      /argument 'fancy' is invalid\. Allowed choices are auto, tty, plain, json/,
      /Usage: prefect-dockerutils build/,
    ],
    [
      ["build", "--builder", "kaniko"],
      /Allowed choices are classic, buildkit/,
      /Usage: prefect-dockerutils build/,
    ],
    [["build", "a", "b"], /too many arguments for 'build'/, /Usage: prefect-dockerutils build/],
    [
      ["build", "--push", "http://127.0.0.1:5555"],
      /--push needs -t NAME\[:TAG\]/,
      /Usage: prefect-dockerutils build/,
    ],
    [
      ["build", "--secret", "id=x"],
      /--secret "id=x" needs exactly one of src=PATH and env=VAR/,
      /Usage/,
    ],
    [["build", "--secret", "src=/etc/hostname"], /--secret needs id=ID/, /Usage/],
    [["build", "--ssh", "a,b"], /use default, default=SOCKET or ID=SOCKET/, /Usage/],
    [["build", "--build-arg", "1X=2"], /--build-arg "1X=…": use KEY=VALUE/, /Usage/],
    [
      ["push", "busybox"],
      /missing required argument 'registry-url'/,
      /Usage: prefect-dockerutils push/,
    ],
    [
      ["parse-ref"],
      /missing required argument 'reference'/,
      /Usage: prefect-dockerutils parse-ref/,
    ],
  ])(
    "exits 2 for %j with the error and the command's usage on stderr",
    async (args, error, usage) => {
      const result = await runBin(args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(error);
      expect(result.stderr).toMatch(usage);
    },
  );

  it.each([
    [
      ["build", "-t", "Bad:Name"],
      /-t "Bad:Name" is not a valid image reference: the repository name "Bad" must be lower-case/,
    ],
    [["build", "-t", `app@sha256:${"a".repeat(64)}`], /a tag cannot have a digest/],
    [
      ["build", "/nonexistent/pdu-cli-context"],
      /Context path \/nonexistent\/pdu-cli-context does not exist/,
    ],
    [
      ["parse-ref", "Foo:bar"],
      /"Foo:bar" is not a valid image reference: the repository name "Foo" must be lower-case/,
    ],
    [["parse-ref", "app:-x"], /the tag "-x" is not valid/],
    [["image-name", "--python-version", "three"], /--python-version must be MAJOR.MINOR/],
    [["image-name", "--prefect-version", "not a version"], /Invalid version/],
    [["dockerfile", "/nonexistent/pdu-cli-dir"], /"\/nonexistent\/pdu-cli-dir" is not a folder/],
  ])("exits 2 for %j with the error alone: a bad value, not a usage error", async (args, error) => {
    const result = await runBin(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(error);
    expect(result.stderr).not.toContain("Usage:");
  });
});

describe("prefect-dockerutils parse-ref", () => {
  it("prints the normalised reference as JSON with every field", async () => {
    const result = await runBin(["parse-ref", "localhost:5000/foo/bar:v1"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toStrictEqual({
      registry: "localhost:5000",
      path: "foo/bar",
      tag: "v1",
      digest: null,
      familiarName: "localhost:5000/foo/bar",
      normalizedName: "localhost:5000/foo/bar",
    });
  });

  it("gives Docker Hub and library/ to a familiar name", async () => {
    const digest = `sha256:${"0".repeat(64)}`;
    const result = await runBin(["parse-ref", `ubuntu@${digest}`]);
    expect(JSON.parse(result.stdout)).toStrictEqual({
      registry: "docker.io",
      path: "library/ubuntu",
      tag: null,
      digest,
      familiarName: "ubuntu",
      normalizedName: "docker.io/library/ubuntu",
    });
  });
});

describe("prefect-dockerutils image-name", () => {
  it.each([
    [
      ["--prefect-version", "3.0.0", "--python-version", "3.11"],
      "prefecthq/prefect:3.0.0-python3.11",
    ],
    [
      ["--prefect-version", "3.0.0rc1", "--python-version", "3.12", "--flavor", "conda"],
      "prefecthq/prefect:3.0.0rc1-python3.12-conda",
    ],
    [
      ["--prefect-version", "3.0.0+1.gabc1234", "--python-version", "3.12"],
      "prefecthq/prefect-dev:sha-abc1234-python3.12",
    ],
  ])("prints the image for %j", async (args, image) => {
    expect(await runBin(["image-name", ...args])).toMatchObject({ code: 0, stdout: `${image}\n` });
  });

  it("defaults to the targeted Prefect and the local Python, as the library does", async () => {
    const result = await runBin(["image-name"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${await resolvePrefectImageName()}\n`);
  });
});

describe("prefect-dockerutils dockerfile", () => {
  it("prints Prefect's default Dockerfile for a folder and writes nothing", async () => {
    const dir = await contextWith({ "flow.py": "print('hi')\n" });
    const tmp = await emptyDir();
    const result = await runBin(["dockerfile", dir], { env: { TMPDIR: tmp } });
    const name = path.basename(dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `FROM ${await resolvePrefectImageName()}\nCOPY . /opt/prefect/${name}/\nWORKDIR /opt/prefect/${name}/\n`,
    );
    expect(await filesIn(dir)).toEqual(["flow.py"]);
    // Its stand-in folder is gone again (tsx, which runs the bin from the sources, keeps a cache
    // in the same TMPDIR).
    expect((await filesIn(tmp)).filter((name) => name.startsWith("prefect-dockerutils"))).toEqual(
      [],
    );
  });

  it("installs requirements.txt when the folder has one", async () => {
    const dir = await contextWith({ "requirements.txt": "httpx\n" });
    const result = await runBin(["dockerfile"], { cwd: dir });
    const name = path.basename(dir);
    expect(result.stdout).toBe(
      [
        `FROM ${await resolvePrefectImageName()}`,
        `COPY requirements.txt /opt/prefect/${name}/requirements.txt`,
        `RUN uv pip install -r /opt/prefect/${name}/requirements.txt`,
        `COPY . /opt/prefect/${name}/`,
        `WORKDIR /opt/prefect/${name}/`,
        "",
      ].join("\n"),
    );
    expect(await filesIn(dir)).toEqual(["requirements.txt"]);
  });

  it("leaves an existing Dockerfile alone and says a build would use it", async () => {
    const dir = await contextWith({ Dockerfile: "FROM scratch\n" });
    const result = await runBin(["dockerfile", dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^FROM prefecthq\/prefect/);
    expect(result.stderr).toMatch(/already has a Dockerfile, which a build uses as it is/);
    expect(await readFile(path.join(dir, "Dockerfile"), "utf8")).toBe("FROM scratch\n");
    expect(existsSync(path.join(dir, "Dockerfile"))).toBe(true);
  });
});
