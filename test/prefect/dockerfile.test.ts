import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  copyInstruction,
  defaultDockerfileLines,
  dockerfileText,
  parseCopyInstruction,
  toRunCommand,
} from "../../src/prefect/dockerfile.js";
import { arg, handPicked } from "../support/dockerfile-cases.js";

describe("toRunCommand", () => {
  it.each(handPicked)("turns %j into %j", (args, expected) => {
    expect(toRunCommand(args)).toBe(expected);
  });

  it("starts every non-empty command with RUN and the first argument verbatim", () => {
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 5 }), (args) => {
        expect(toRunCommand(args).startsWith(`RUN ${args[0]}`)).toBe(true);
      }),
    );
  });

  it("returns an empty string for an empty list", () => {
    expect(toRunCommand([])).toBe("");
  });
});

describe("copyInstruction", () => {
  const pathText = fc.string({
    unit: fc.constantFrom("a", "/", ".", " ", "'", '"', "$", "\\", "-", "é", "\u00a0", "\u2028"),
    minLength: 1,
    maxLength: 12,
  });

  it("is read back by the parser as the same two paths (property)", () => {
    fc.assert(
      fc.property(pathText, pathText, (source, destination) => {
        expect(parseCopyInstruction(copyInstruction(source, destination))).toEqual([
          source,
          destination,
        ]);
      }),
    );
  });

  it("is a single line whatever the paths hold", () => {
    fc.assert(
      fc.property(pathText, pathText, (source, destination) => {
        expect(copyInstruction(source, destination)).not.toMatch(/[\n\r]/);
      }),
    );
  });
});

describe("defaultDockerfileLines", () => {
  it("writes Prefect's generate_default_dockerfile text for a plain folder name", () => {
    expect(defaultDockerfileLines("prefecthq/prefect:3-latest", "flows", true)).toEqual([
      "FROM prefecthq/prefect:3-latest",
      "COPY requirements.txt /opt/prefect/flows/requirements.txt",
      "RUN uv pip install -r /opt/prefect/flows/requirements.txt",
      "COPY . /opt/prefect/flows/",
      "WORKDIR /opt/prefect/flows/",
    ]);
    expect(defaultDockerfileLines("busybox", "flows", false)).toEqual([
      "FROM busybox",
      "COPY . /opt/prefect/flows/",
      "WORKDIR /opt/prefect/flows/",
    ]);
  });

  it("writes a hostile folder name so the parser and sh read it back as one path (property)", () => {
    const dirName = fc.string({
      unit: fc.constantFrom(..."a-.;&|*?>()`!#~{}[]= '\"$\\é".split(""), "\u00a0", "\u2028"),
      minLength: 1,
      maxLength: 10,
    });
    fc.assert(
      fc.property(dirName, (name) => {
        const target = `/opt/prefect/${name}/`;
        const lines = defaultDockerfileLines("busybox", name, true);
        const [, copyRequirements, run, copyAll, workdir] = lines;
        expect(lines).toHaveLength(5);
        expect(parseCopyInstruction(copyRequirements as string)).toEqual([
          "requirements.txt",
          `${target}requirements.txt`,
        ]);
        expect(parseCopyInstruction(copyAll as string)).toEqual([".", target]);
        // The builder's shlex removes one backslash before each escaped character in WORKDIR.
        expect((workdir as string).slice("WORKDIR ".length).replace(/\\(.)/gsu, "$1")).toBe(target);
        const word = (run as string).slice("RUN uv pip install -r ".length);
        expect(execFileSync("sh", ["-c", `printf %s ${word}`], { encoding: "utf8" })).toBe(
          `${target}requirements.txt`,
        );
      }),
      { numRuns: 60 },
    );
  });
});

describe("dockerfileText", () => {
  it("ends every line with a newline, as Prefect writes the file", () => {
    expect(dockerfileText(["FROM busybox", "WORKDIR /opt/prefect/flows/"])).toBe(
      "FROM busybox\nWORKDIR /opt/prefect/flows/\n",
    );
    expect(dockerfileText([])).toBe("");
  });
});
