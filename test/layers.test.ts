// The architecture, checked on the source: every import of every `src/**/*.ts` file is read with
// TypeScript's parser and held against the layer table below (CONTRIBUTING.md's "Layers" table
// says the same, and the last test keeps the two equal). Also checked here: the heavy dependencies are
// reached from no entry point by a static import, only `debug-logger.ts` imports `debug`, and
// every export has a TSDoc comment.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const SRC = path.join(ROOT, "src");

/**
 * The modules every layer may import: errors, defaults, option checks, the logger and the
 * Node modules loaded at first use.
 */
const SHARED = ["errors.ts", "defaults.ts", "validate.ts", "debug-logger.ts", "lazy-builtins.ts"];
/**
 * The package's entry points (`.`, `./testing`, `./steps`, `./dockerode`, `./engine`): they may
 * import every layer but `cli/`.
 */
const ENTRY_POINTS = ["index.ts", "testing.ts", "steps.ts", "dockerode.ts", "engine-api.ts"];

/**
 * Each layer (a folder of `src/`) and the layers it may import from, besides itself and
 * {@link SHARED}. `index` is the package root, the public API.
 */
const LAYERS: Readonly<Record<string, readonly string[]>> = {
  cli: ["index"],
  deploy: [
    "prefect",
    "classic",
    "buildkit",
    "registry",
    "build-context",
    "operation",
    "auth",
    "engine",
    "docker-config",
    "streams",
    "reference",
    "python",
  ],
  prefect: [
    "classic",
    "buildkit",
    "registry",
    "build-context",
    "operation",
    "auth",
    "engine",
    "docker-config",
    "streams",
    "reference",
    "python",
  ],
  classic: [
    "build-context",
    "operation",
    "auth",
    "engine",
    "docker-config",
    "streams",
    "reference",
    "python",
  ],
  buildkit: [
    "build-context",
    "operation",
    "auth",
    "engine",
    "docker-config",
    "streams",
    "reference",
    "python",
  ],
  registry: ["operation", "auth", "engine", "docker-config", "streams", "reference", "python"],
  "build-context": ["streams", "reference", "python"],
  operation: ["auth", "engine", "docker-config", "streams", "reference", "python"],
  auth: ["engine", "docker-config", "streams", "reference", "python"],
  engine: ["docker-config", "streams", "reference", "python"],
  "docker-config": ["reference", "python"],
  streams: ["python"],
  reference: ["python"],
  python: [],
};

/**
 * Packages that must load at first use (`await import()` or `require` inside a function), and
 * Node modules that most imports of the package never use (they come through
 * src/lazy-builtins.ts).
 */
const HEAVY = [
  "dockerode",
  "@bufbuild/protobuf",
  "commander",
  "modern-tar",
  "node:crypto",
  "node:child_process",
  "node:zlib",
  "node:assert",
  "node:https",
  "node:tls",
];

interface Import {
  /** The module's text as written, e.g. `../auth/credentials.js` or `dockerode`. */
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
    ["engine", "build-context", false],
    ["build-context", "engine", false],
    ["engine", "auth", false],
    ["docker-config", "engine", false],
    ["auth", "operation", false],
    ["streams", "operation", false],
    ["streams", "reference", false],
    ["reference", "streams", false],
    ["python", "streams", false],
    ["prefect", "deploy", false],
    ["buildkit", "prefect", false],
    ["buildkit", "classic", false],
    ["classic", "buildkit", false],
    ["registry", "buildkit", false],
    ["registry", "prefect", false],
    ["engine", "registry", false],
    ["prefect", "registry", true],
    ["prefect", "classic", true],
    ["cli", "prefect", false],
    ["cli", "shared", false],
    ["shared", "engine", false],
    ["index", "cli", false],
    ["cli", "index", true],
    ["deploy", "prefect", true],
    ["buildkit", "build-context", true],
    ["classic", "operation", true],
    ["operation", "auth", true],
    ["auth", "docker-config", true],
    ["engine", "docker-config", true],
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
    const entries = [
      "index.ts",
      "testing.ts",
      "steps.ts",
      "dockerode.ts",
      "engine-api.ts",
      "cli/main.ts",
    ].filter((file) => files.includes(file));
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
            packageOf(found.specifier) === "dockerode" &&
            !found.typeOnly &&
            layerOf(file) !== "engine",
        )
        .map((found) => `${file}:${found.line} loads ${found.specifier}`),
    );
    expect(violations).toEqual([]);
  });

  it("keeps dockerode's types out of every entry point but prefect-dockerutils/dockerode", () => {
    // dockerode is an optional peer dependency: the types of `.`, `./testing`, `./steps` and
    // `./engine` must compile without it, so no file they reach, even for its types alone, may
    // import it.
    const violations: string[] = [];
    for (const entry of ["index.ts", "testing.ts", "steps.ts", "engine-api.ts"]) {
      const seen = new Set<string>([entry]);
      const queue = [entry];
      for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
        for (const found of imports.get(file) ?? []) {
          if (found.specifier.startsWith(".")) {
            const target = resolveRelative(file, found.specifier);
            if (!seen.has(target)) {
              seen.add(target);
              queue.push(target);
            }
          } else if (packageOf(found.specifier) === "dockerode") {
            violations.push(`${entry} reaches ${found.specifier} through ${file}:${found.line}`);
          }
        }
      }
    }
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
    // Generated wire code (marked so, see proto/) documents what its .proto files document.
    for (const file of files.filter((name) => !name.startsWith("buildkit/generated/"))) {
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

  it("is the table CONTRIBUTING.md shows", () => {
    const contributing = readFileSync(path.join(ROOT, "CONTRIBUTING.md"), "utf8");
    const section = contributing.slice(contributing.indexOf("## Layers"));
    const rows = new Map<string, string[]>();
    for (const match of section.matchAll(/^\| `([a-z-]+)\/` \| (.*) \|$/gm)) {
      const text = (match[2] as string).split(" | ").at(-1) as string;
      const names = [...text.matchAll(/`([a-z-]+)\/`/g)].map((m) => m[1] as string);
      if (text.includes("`index.ts`")) names.unshift("index");
      rows.set(match[1] as string, names);
    }
    expect(Object.fromEntries(rows)).toEqual(LAYERS);
  });
});

/**
 * What reaching into a dependency looks like in source, found with TypeScript's type checker over
 * all of `src/` (so that "a dependency's" means "declared under node_modules", whatever the
 * variable is called):
 * - a deep import: a bare specifier naming a path its package's `exports` map does not offer;
 * - a cast of a dependency's value to a shape written here (how `call.stream` and docker-modem's
 *   `dial`, `buildRequest` and `buildPayload` were reached): what the package does not declare
 *   is not its API;
 * - replacing a dependency's method (`modem.dial = ...`, `call.send = ...`);
 * - a member whose name starts with `_` (Node's and libraries' private fields, `_readableState`),
 *   outside the generated wire code and a stream class's own implementer methods (`this._write`);
 * - the names issue 18 found, anywhere: `buildRequest`, `buildPayload`, and `dial` or `stream`
 *   read off a value of a dependency's type.
 */
/** The methods a Node stream subclass implements, which the stream docs call its API. */
const STREAM_IMPLEMENTER = new Set([
  "_read",
  "_write",
  "_writev",
  "_final",
  "_destroy",
  "_construct",
  "_transform",
  "_flush",
]);

function dependencyInternals(): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
    lib: ["lib.es2023.d.ts", "lib.esnext.disposable.d.ts"],
  };
  const program = ts.createProgram(
    files.map((file) => path.join(SRC, file)),
    options,
  );
  const checker = program.getTypeChecker();
  const parts = (type: ts.Type): readonly ts.Type[] => (type.isUnion() ? type.types : [type]);
  /** Declared by a package, not by TypeScript's lib or Node's types (the platform). */
  const isDependencyFile = (name: string) =>
    name.includes("/node_modules/") &&
    !name.includes("/node_modules/typescript/") &&
    !name.includes("/node_modules/@types/node/");
  const fromDependency = (type: ts.Type): boolean =>
    [type, ...parts(type)].some((part) =>
      (part.getSymbol() ?? part.aliasSymbol)
        ?.getDeclarations()
        ?.some((declaration) => isDependencyFile(declaration.getSourceFile().fileName)),
    );
  const declaredHere = (type: ts.Type): boolean =>
    [type, ...parts(type)].some((part) =>
      (part.getSymbol() ?? part.aliasSymbol)
        ?.getDeclarations()
        ?.some((declaration) => declaration.getSourceFile().fileName.startsWith(SRC)),
    );
  /** Whether `target` names a member that no type `original` may be declares. */
  const addsMembers = (original: ts.Type, target: ts.Type): boolean => {
    const wanted = checker.getPropertiesOfType(checker.getNonNullableType(target));
    return parts(checker.getNonNullableType(original)).every((part) =>
      wanted.some((member) => checker.getPropertyOfType(part, member.name) === undefined),
    );
  };
  const found: string[] = [];
  for (const file of files) {
    const source = program.getSourceFile(path.join(SRC, file));
    if (source === undefined) continue;
    const where = (node: ts.Node) =>
      `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) {
        let inner: ts.Expression = node.expression;
        while (ts.isAsExpression(inner) || ts.isParenthesizedExpression(inner)) {
          inner = inner.expression;
        }
        const original = checker.getTypeAtLocation(inner);
        const target = checker.getTypeFromTypeNode(node.type);
        if (fromDependency(original) && declaredHere(target) && addsMembers(original, target)) {
          found.push(
            `${where(node)} casts a dependency's ${checker.typeToString(original)} to ${node.type.getText()}`,
          );
        }
      }
      if (ts.isPropertyAccessExpression(node)) {
        const name = node.name.text;
        const owner = checker.getTypeAtLocation(node.expression);
        // ts-proto keeps its own recursion counter on the reader (`__tsProtoDecodeDepth`).
        // Node's stream implementer methods (`_read`, `_write`, ...) on `this` are a documented
        // API of the class being written, not a private member.
        const implementer =
          node.expression.kind === ts.SyntaxKind.ThisKeyword && STREAM_IMPLEMENTER.has(name);
        if (name.startsWith("_") && !implementer && !file.startsWith("buildkit/generated/")) {
          found.push(`${where(node)} reads ${name}`);
        }
        if (name === "buildRequest" || name === "buildPayload") {
          found.push(`${where(node)} reads ${name}`);
        }
        if ((name === "dial" || name === "stream") && fromDependency(owner)) {
          found.push(`${where(node)} reads ${name} of ${checker.typeToString(owner)}`);
        }
      }
      if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        ts.isPropertyAccessExpression(node.left)
      ) {
        const declarations = checker.getSymbolAtLocation(node.left.name)?.getDeclarations() ?? [];
        if (
          declarations.some(
            (declaration) =>
              (ts.isMethodSignature(declaration) || ts.isMethodDeclaration(declaration)) &&
              declaration.getSourceFile().fileName.includes("/node_modules/"),
          )
        ) {
          found.push(`${where(node)} replaces the method ${node.left.getText()}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    for (const found_ of imports.get(file) ?? []) {
      const { specifier } = found_;
      if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
      const name = packageOf(specifier);
      const subpath = `.${specifier.slice(name.length)}`;
      if (subpath === ".") continue;
      const manifest = JSON.parse(
        readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8"),
      ) as { exports?: unknown };
      const exported =
        manifest.exports !== null &&
        typeof manifest.exports === "object" &&
        subpath in (manifest.exports as Record<string, unknown>);
      if (!exported)
        found.push(`${file}:${found_.line} imports ${specifier}, which ${name} does not export`);
    }
  }
  return found;
}

/**
 * Known violations, each owned by other work: the test fails when one disappears, so that this
 * list only shrinks. engine/docker-client.ts's docker-modem patch and engine-transport.ts's deep
 * import of docker-modem's SSH code go with the `ssh://` transport of issue 18 item 2;
 * context-stream.ts's `_readableState` read is the classic upload's.
 */
const KNOWN_INTERNALS: RegExp[] = [];

describe("dependencies' internals", () => {
  const found = dependencyInternals();

  it("reaches into no dependency's internals beyond the known cases listed", () => {
    expect(found.filter((line) => !KNOWN_INTERNALS.some((known) => known.test(line)))).toEqual([]);
  });

  it("still finds each known case (remove it from the list once it is fixed)", () => {
    for (const known of KNOWN_INTERNALS) {
      expect(
        found.some((line) => known.test(line)),
        String(known),
      ).toBe(true);
    }
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
