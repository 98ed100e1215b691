// The architecture, checked on the source: every import of every `src/**/*.ts` file is read with
// TypeScript's parser and held against the layer table below (the README's "Layers" table says
// the same, and the last test keeps the two equal). Also checked here: the heavy dependencies are
// reached from no entry point by a static import, only `debug-logger.ts` imports `debug`, and
// every export has a TSDoc comment.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const SRC = path.join(ROOT, "src");

/** The modules every layer may import: errors, defaults, option checks and the logger. */
const SHARED = ["errors.ts", "defaults.ts", "validate.ts", "debug-logger.ts"];
/** The package's entry points (`.`, `./testing`, `./steps`): they may import every layer but `cli/`. */
const ENTRY_POINTS = ["index.ts", "testing.ts", "steps.ts"];

/**
 * Each layer (a folder of `src/`) and the layers it may import from, besides itself and
 * {@link SHARED}. `index` is the package root, the public API.
 */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  cli: ["index"],
  deploy: [
    "prefect",
    "buildkit",
    "registry",
    "context",
    "engine",
    "reference",
    "streams",
    "python",
  ],
  prefect: ["buildkit", "registry", "context", "engine", "reference", "streams", "python"],
  registry: ["engine", "reference", "streams", "python"],
  buildkit: ["context", "engine", "reference", "streams", "python"],
  context: ["reference", "streams", "python"],
  engine: ["reference", "streams", "python"],
  streams: ["python"],
  reference: ["python"],
  python: [],
};

/** Packages that must load at first use (`await import()` or `require` inside a function). */
const HEAVY = ["dockerode", "docker-modem", "@grpc/grpc-js", "protobufjs", "ssh2", "commander"];

interface Import {
  /** The module's text as written, e.g. `../engine/credentials.js` or `dockerode`. */
  readonly specifier: string;
  /** `import type` or `export type`: gone from the JavaScript. */
  readonly typeOnly: boolean;
  /** `await import(...)`: loaded when that line runs, not with the module. */
  readonly dynamic: boolean;
  readonly line: number;
}

/** Every `src/**\/*.ts` file, relative to `src/` with `/` separators. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [path.relative(SRC, full).split(path.sep).join("/")] : [];
  });
}

function parse(file: string): ts.SourceFile {
  const text = readFileSync(path.join(SRC, file), "utf8");
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
}

/** The imports, re-exports and dynamic imports of one file. */
function importsOf(source: ts.SourceFile): Import[] {
  const found: Import[] = [];
  const line = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      // Under verbatimModuleSyntax only `import type` / `export type` leave the module out of the
      // JavaScript: `import { type A }` still loads it.
      const typeOnly = ts.isImportDeclaration(node)
        ? node.importClause?.isTypeOnly === true
        : node.isTypeOnly;
      found.push({
        specifier: node.moduleSpecifier.text,
        typeOnly,
        dynamic: false,
        line: line(node),
      });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push({
        specifier: node.arguments[0].text,
        typeOnly: false,
        dynamic: true,
        line: line(node),
      });
    } else if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === "require" &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push({
        specifier: node.arguments[0].text,
        typeOnly: false,
        dynamic: true,
        line: line(node),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The `src/` file a relative specifier names (`.js` written for the `.ts` file). */
function resolveRelative(from: string, specifier: string): string {
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  return joined.replace(/\.js$/, ".ts");
}

/** The layer of a `src/` file: its top folder, `shared`, `index` or `entry`. */
function layerOf(file: string): string {
  if (file.includes("/")) return file.slice(0, file.indexOf("/"));
  if (SHARED.includes(file)) return "shared";
  if (file === "index.ts") return "index";
  if (ENTRY_POINTS.includes(file)) return "entry";
  return `unknown top-level file ${file}`;
}

/** Whether a file of layer `from` may import a file of layer `to`. */
function allowed(from: string, to: string): boolean {
  if (to === "shared") return from !== "cli";
  if (from === to) return true;
  if (from === "shared") return false;
  if (from === "index" || from === "entry") return to !== "cli" && to !== "entry";
  return LAYERS[from]?.includes(to) ?? false;
}

const files = sourceFiles();
const imports = new Map(files.map((file) => [file, importsOf(parse(file))]));

/** Every relative import of `src/`, with the file it names. */
function relativeImports(): { file: string; target: string; found: Import }[] {
  return files.flatMap((file) =>
    (imports.get(file) ?? [])
      .filter((found) => found.specifier.startsWith("."))
      .map((found) => ({ file, target: resolveRelative(file, found.specifier), found })),
  );
}

/** The package a bare specifier names: `@grpc/grpc-js`, or `protobufjs` for `protobufjs/minimal.js`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
}

describe("the layers of src/", () => {
  it("puts every source file in a layer of the table", () => {
    const unknown = files.filter((file) => {
      const layer = layerOf(file);
      return !(layer in LAYERS) && !["shared", "index", "entry"].includes(layer);
    });
    expect(unknown).toEqual([]);
  });

  it("finds the imports it checks (the parser sees static, type-only and dynamic ones)", () => {
    const all = [...imports.values()].flat();
    expect(all.filter((found) => found.typeOnly).length).toBeGreaterThan(10);
    expect(all.filter((found) => found.dynamic).length).toBeGreaterThan(3);
    expect(relativeImports().length).toBeGreaterThan(200);
  });

  it("imports only from the same layer, the layers below it and the shared modules", () => {
    const violations = relativeImports()
      .filter(({ file, target }) => !allowed(layerOf(file), layerOf(target)))
      .map(({ file, target, found }) => `${file}:${found.line} imports ${target}`);
    expect(violations).toEqual([]);
  });

  it.each([
    ["engine", "context", false],
    ["context", "engine", false],
    ["streams", "reference", false],
    ["reference", "streams", false],
    ["python", "streams", false],
    ["prefect", "deploy", false],
    ["buildkit", "prefect", false],
    ["registry", "buildkit", false],
    ["registry", "prefect", false],
    ["engine", "registry", false],
    ["prefect", "registry", true],
    ["cli", "prefect", false],
    ["cli", "shared", false],
    ["shared", "engine", false],
    ["index", "cli", false],
    ["cli", "index", true],
    ["deploy", "prefect", true],
    ["buildkit", "context", true],
    ["engine", "reference", true],
    ["python", "shared", true],
  ])("judges an import from %s/ to %s/ as allowed: %s", (from, to, expected) => {
    expect(allowed(from, to)).toBe(expected);
  });

  it("re-exports only its own layer's names, so every import names the module that owns them", () => {
    const violations = files.flatMap((file) => {
      if (layerOf(file) === "index" || layerOf(file) === "entry") return [];
      const source = parse(file);
      return source.statements
        .filter(
          (statement): statement is ts.ExportDeclaration =>
            ts.isExportDeclaration(statement) &&
            statement.moduleSpecifier !== undefined &&
            ts.isStringLiteral(statement.moduleSpecifier),
        )
        .map((statement) =>
          resolveRelative(file, (statement.moduleSpecifier as ts.StringLiteral).text),
        )
        .filter((target) => layerOf(target) !== layerOf(file))
        .map((target) => `${file} re-exports ${target}`);
    });
    expect(violations).toEqual([]);
  });

  it("names only files that exist in relative imports", () => {
    const missing = relativeImports()
      .filter(({ target }) => !files.includes(target))
      .map(({ file, target }) => `${file} imports ${target}`);
    expect(missing).toEqual([]);
  });

  it("reaches no heavy dependency from an entry point by a static import", () => {
    const entries = ["index.ts", "testing.ts", "steps.ts", "cli/main.ts"].filter((file) =>
      files.includes(file),
    );
    const violations: string[] = [];
    for (const entry of entries) {
      // The files loaded with the entry point: static imports that are not type-only.
      const seen = new Set<string>([entry]);
      const queue = [entry];
      for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
        for (const found of imports.get(file) ?? []) {
          if (found.typeOnly || found.dynamic) continue;
          if (found.specifier.startsWith(".")) {
            const target = resolveRelative(file, found.specifier);
            if (!seen.has(target)) {
              seen.add(target);
              queue.push(target);
            }
          } else if (HEAVY.includes(packageOf(found.specifier))) {
            violations.push(`${entry} loads ${found.specifier} through ${file}:${found.line}`);
          }
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("loads dockerode in engine/ only: everywhere else it is imported for its types", () => {
    const violations = files.flatMap((file) =>
      (imports.get(file) ?? [])
        .filter(
          (found) =>
            ["dockerode", "docker-modem"].includes(packageOf(found.specifier)) &&
            !found.typeOnly &&
            layerOf(file) !== "engine",
        )
        .map((found) => `${file}:${found.line} loads ${found.specifier}`),
    );
    expect(violations).toEqual([]);
  });

  it("logs through debug-logger.ts only: no other module imports debug", () => {
    const violations = files.flatMap((file) =>
      (imports.get(file) ?? [])
        .filter((found) => packageOf(found.specifier) === "debug" && !found.typeOnly)
        .filter(() => file !== "debug-logger.ts")
        .map((found) => `${file}:${found.line}`),
    );
    expect(violations).toEqual([]);
  });

  it("documents every export with a TSDoc comment", () => {
    const undocumented: string[] = [];
    for (const file of files) {
      const source = parse(file);
      let previous: ts.Statement | undefined;
      for (const statement of source.statements) {
        const overload =
          previous !== undefined &&
          ts.isFunctionDeclaration(previous) &&
          ts.isFunctionDeclaration(statement) &&
          previous.name?.text === statement.name?.text;
        previous = statement;
        if (!isExported(statement) || overload) continue;
        if (ts.isExportDeclaration(statement) || ts.isExportAssignment(statement)) continue;
        const comments = ts.getJSDocCommentsAndTags(statement);
        if (comments.length === 0) {
          const line = source.getLineAndCharacterOfPosition(statement.getStart()).line + 1;
          undocumented.push(`${file}:${line} ${exportName(statement)}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });

  it("is the table the README shows", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Layers"));
    const rows = new Map<string, string[]>();
    for (const match of section.matchAll(/^\| `([a-z]+)\/` \| (.*) \|$/gm)) {
      const text = (match[2] as string).split(" | ").at(-1) as string;
      const names = [...text.matchAll(/`([a-z]+)\/`/g)].map((m) => m[1] as string);
      if (text.includes("`index.ts`")) names.unshift("index");
      rows.set(match[1] as string, names);
    }
    expect(Object.fromEntries(rows)).toEqual(LAYERS);
  });
});

function isExported(statement: ts.Statement): boolean {
  if (ts.isExportDeclaration(statement) || ts.isExportAssignment(statement)) return true;
  return (
    ts.canHaveModifiers(statement) &&
    (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  );
}

function exportName(statement: ts.Statement): string {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.map((d) => d.name.getText()).join(", ");
  }
  const name = (statement as { name?: ts.Node }).name;
  return name ? name.getText() : ts.SyntaxKind[statement.kind];
}
