// The published docs say what the code does (issue 17, item 17): the README and every page of
// docs/ call only functions the package exports (the README once described walkContext and
// readContextFile as reusable, but they are internal), the README's API table lists every export
// of every entry point and nothing else, and no TSDoc calls a feature unavailable that the code
// provides (BuildImageOptions' builder said BuildKit "is not available yet").
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as dockerode from "../src/dockerode.js";
import * as engine from "../src/engine-api.js";
import * as api from "../src/index.js";
import * as steps from "../src/steps.js";
import * as testing from "../src/testing.js";

const ROOT = path.resolve(import.meta.dirname, "..");

/** Names the docs call that are not this package's: Python's, Node's, dockerode's, debug's. */
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
  for (const module of [api, steps, testing, dockerode, engine] as Record<string, unknown>[]) {
    for (const [name, value] of Object.entries(module)) {
      names.add(name);
      if (typeof value === "function" && value.prototype) {
        for (const method of Object.getOwnPropertyNames(value.prototype)) names.add(method);
      }
    }
  }
  return names;
}

/** The README and every page of docs/, relative to the repository. */
function userDocs(): string[] {
  const docs = readdirSync(path.join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

describe("the README and docs/", () => {
  it.each(userDocs())("%s calls only functions the package exports", (file) => {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    const exported = exportedNames();
    const classes = new Set(
      [...exported].filter(
        (name) => /^[A-Z]/.test(name) && typeof (api as never)[name] === "function",
      ),
    );
    const missing = new Set<string>();
    for (const [, call] of text.matchAll(/`([A-Za-z_$][\w$.]*)\(/g)) {
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

/** The entry points of package.json's `exports`, by import specifier, and their source files. */
const ENTRY_POINTS = {
  "prefect-dockerutils": "src/index.ts",
  "prefect-dockerutils/steps": "src/steps.ts",
  "prefect-dockerutils/testing": "src/testing.ts",
  "prefect-dockerutils/dockerode": "src/dockerode.ts",
  "prefect-dockerutils/engine": "src/engine-api.ts",
} as const;

/** Every name a module exports, types included, read from its source. */
function exportsOf(file: string): string[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(path.join(ROOT, file), "utf8"),
    ts.ScriptTarget.Latest,
  );
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      if (!clause || !ts.isNamedExports(clause)) throw new Error(`${file}: export * is not listed`);
      for (const element of clause.elements) names.add(element.name.text);
    } else if (
      ts.canHaveModifiers(statement) &&
      ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) &&
      "name" in statement &&
      statement.name &&
      ts.isIdentifier(statement.name as ts.Node)
    ) {
      names.add((statement.name as ts.Identifier).text);
    } else if (
      ts.isVariableStatement(statement) &&
      ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
    ) {
      for (const declaration of statement.declarationList.declarations) {
        names.add(declaration.name.getText(source));
      }
    }
  }
  return [...names].sort();
}

/** The names in the first column of the README's API table for one entry point, in order. */
function apiTableRows(readme: string, specifier: string): string[] {
  const api = readme.slice(
    readme.indexOf("\n## API\n"),
    readme.indexOf("\n## ", readme.indexOf("\n## API\n") + 1),
  );
  const start = api.indexOf(`\n### \`${specifier}\`\n`);
  expect(start, `a "### \`${specifier}\`" heading in the README's API section`).toBeGreaterThan(-1);
  const end = api.indexOf("\n### ", start + 1);
  const section = api.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^\| \[`([\w$]+)`\]\([^)]+\) \|/gm)].map(
    (match) => match[1] as string,
  );
}

describe("the README's API table", () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");

  it.each(Object.entries(ENTRY_POINTS))(
    "lists every export of %s, once each",
    (specifier, file) => {
      const rows = apiTableRows(readme, specifier);
      expect([...rows].sort()).toEqual(exportsOf(file));
    },
  );

  it("reads the entry points' exports, types included", () => {
    const root = exportsOf("src/index.ts");
    expect(root).toContain("buildImage");
    expect(root).toContain("BuildImageOptions");
    expect(exportsOf("src/testing.ts")).toEqual(["CapturedBuilders", "captureBuilders"]);
    // Every value the modules export at run time is among the names read from the source.
    for (const [module, file] of [
      [api, "src/index.ts"],
      [steps, "src/steps.ts"],
      [testing, "src/testing.ts"],
      [dockerode, "src/dockerode.ts"],
      [engine, "src/engine-api.ts"],
    ] as const) {
      expect(exportsOf(file)).toEqual(expect.arrayContaining(Object.keys(module)));
    }
  });

  it("matches the entry points of package.json", () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      exports: Record<string, unknown>;
    };
    const specifiers = Object.keys(manifest.exports)
      .filter((key) => key !== "./package.json")
      .map((key) => (key === "." ? "prefect-dockerutils" : `prefect-dockerutils/${key.slice(2)}`));
    expect(specifiers.sort()).toEqual(Object.keys(ENTRY_POINTS).sort());
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
