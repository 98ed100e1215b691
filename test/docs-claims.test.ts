// The published docs say what the code does (issue 17, item 17): the README calls only functions
// the package exports (it described walkContext and readContextFile as reusable, but they are
// internal), and no TSDoc calls a feature unavailable that the code provides (BuildImageOptions'
// builder said BuildKit "is not available yet").
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as dockerode from "../src/dockerode.js";
import * as api from "../src/index.js";
import * as steps from "../src/steps.js";
import * as testing from "../src/testing.js";

const ROOT = path.resolve(import.meta.dirname, "..");

/** Names the README calls that are not this package's: Python's, Node's, dockerode's, debug's. */
const OUTSIDE = new Set([
  "repr", // Python's repr()
  "slugify", // python-slugify, in Prefect's expression for the default tag
  "sha256", // a formula, not a function
  "enable", // debug.enable()
  "pipe", // Node's stream.pipe()
  "import", // import()
  "Path", // Python's pathlib.Path()
  "deploy", // Prefect's flow.deploy()
]);

/** Every name the package exports, and the methods of the classes among them. */
function exportedNames(): Set<string> {
  const names = new Set<string>();
  for (const module of [api, steps, testing, dockerode] as Record<string, unknown>[]) {
    for (const [name, value] of Object.entries(module)) {
      names.add(name);
      if (typeof value === "function" && value.prototype) {
        for (const method of Object.getOwnPropertyNames(value.prototype)) names.add(method);
      }
    }
  }
  return names;
}

describe("the README", () => {
  it("calls only functions the package exports", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const exported = exportedNames();
    const classes = new Set(
      [...exported].filter(
        (name) => /^[A-Z]/.test(name) && typeof (api as never)[name] === "function",
      ),
    );
    const missing = new Set<string>();
    for (const [, call] of readme.matchAll(/`([A-Za-z_$][\w$.]*)\(/g)) {
      const parts = (call as string).split(".");
      const name = parts.at(-1) as string;
      // snake_case is Python's API; `docker.getImage()`, `flow.deploy()`: another object's.
      if (name.includes("_")) continue;
      if (parts.length > 1 && !classes.has(parts[0] as string)) continue;
      if (!exported.has(name) && !OUTSIDE.has(name)) missing.add(call as string);
    }
    expect([...missing]).toEqual([]);
  });
});

/** Every comment of every `src/**\/*.ts` file, with where it is. */
function comments(): { where: string; text: string }[] {
  const found: { where: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts")) {
        const text = readFileSync(full, "utf8");
        for (const match of text.matchAll(/\/\*\*?[\s\S]*?\*\/|\/\/.*$/gm)) {
          const line = text.slice(0, match.index).split("\n").length;
          found.push({ where: `${path.relative(ROOT, full)}:${line}`, text: match[0] });
        }
      }
    }
  };
  walk(path.join(ROOT, "src"));
  return found;
}

describe("the TSDoc", () => {
  it("calls no feature unavailable or unimplemented", () => {
    const stale = comments().filter(({ text }) =>
      /not (?:yet )?available yet|not implemented yet|coming soon|not (?:yet )?supported yet/i.test(
        text,
      ),
    );
    expect(stale.map(({ where }) => where)).toEqual([]);
  });

  it("describes BuildImageOptions.builder's BuildKit as the working builder it is", () => {
    const file = path.join(ROOT, "src/operation/build-image-options.ts");
    const source = ts.createSourceFile(
      file,
      readFileSync(file, "utf8"),
      ts.ScriptTarget.Latest,
      true,
    );
    let doc = "";
    const visit = (node: ts.Node): void => {
      if (
        ts.isPropertySignature(node) &&
        node.name.getText() === "builder" &&
        ts.isInterfaceDeclaration(node.parent) &&
        node.parent.name.text === "BuildImageOptions"
      ) {
        doc = ts
          .getJSDocCommentsAndTags(node)
          .map((part) => part.getText())
          .join("\n");
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    expect(doc).toContain("BuildKit");
    expect(doc).not.toMatch(
      /not available|rejects with an \{@link InvalidArgumentError\}\.\s*\*\s*@default/,
    );
  });
});
