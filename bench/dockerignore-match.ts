/**
 * `.dockerignore` matching on its own: a set of patterns against a generated listing of paths,
 * each version of the matcher in its own process, so its CPU time and memory are its own.
 *
 *   npx tsx bench/dockerignore-match.ts [--baseline <checkout>] [--rounds 5] [--paths 100000]
 *
 * `--baseline` measures another checkout's `src/build-context/dockerignore.ts` beside this one,
 * in every round, alternating who goes first (the test machine's CPU speed drifts by tens of
 * percent over minutes, so only runs taken side by side compare), e.g.
 * `git worktree add /tmp/before <commit>` then `--baseline /tmp/before`. Each run calls
 * `PatternMatcher.matches` (moby's `MatchesOrParentMatches`, every parent folder checked too) on
 * every path; the paths are the same in every run. Prints medians as a markdown table.
 * @module
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** A realistic `.dockerignore`, with classes, `?`, `**` inside paths and exceptions. */
const PATTERNS = [
  ".git",
  "**/node_modules",
  "*.log",
  "**/*.pyc",
  "**/__pycache__",
  "build/",
  "dist/**",
  "!dist/keep.txt",
  "docs/**/*.md",
  "!docs/**/README.md",
  "src/**/test_*.py",
  "[Tt]emp*",
  "*/cache/?.tmp",
  "**/*~",
  "lib/*/pkg[0-9]*/**/*.js",
  "!**/important.log",
];

const FOLDERS = ["src", "lib", "test", "node_modules", "build", "dist", "docs", "cache", "pkg"];
const EXTENSIONS = ["py", "pyc", "js", "ts", "md", "log", "tmp", "txt", "json"];

/** The same `count` paths on every run: one to seven levels deep, names from a small vocabulary. */
function listing(count: number): string[] {
  let seed = 42;
  const next = (limit: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % limit;
  };
  const paths: string[] = [];
  for (let index = 0; index < count; index++) {
    const depth = 1 + next(7);
    const parts: string[] = [];
    for (let level = 1; level < depth; level++) {
      const folder = FOLDERS[next(FOLDERS.length)] as string;
      parts.push(next(3) === 0 ? `${folder}${next(20)}` : folder);
    }
    const extension = EXTENSIONS[next(EXTENSIONS.length)] as string;
    parts.push(next(10) === 0 ? "README.md" : `file_${index}.${extension}`);
    paths.push(parts.join("/"));
  }
  return paths;
}

interface Run {
  readonly cpuMs: number;
  readonly heapMiB: number;
  readonly maxRssMiB: number;
  readonly excluded: number;
}

/** One measured run in this process: prints a {@link Run} as JSON. */
async function child(root: string, count: number): Promise<void> {
  const module = pathToFileURL(path.join(root, "src", "build-context", "dockerignore.ts")).href;
  const { PatternMatcher } = (await import(module)) as {
    PatternMatcher: new (patterns: readonly string[]) => { matches(file: string): boolean };
  };
  const paths = listing(count);
  let heap = process.memoryUsage().heapUsed;
  const start = process.cpuUsage();
  const matcher = new PatternMatcher(PATTERNS);
  let excluded = 0;
  for (let index = 0; index < paths.length; index++) {
    if (matcher.matches(paths[index] as string)) excluded++;
    if (index % 1000 === 0) heap = Math.max(heap, process.memoryUsage().heapUsed);
  }
  const cpu = process.cpuUsage(start);
  const run: Run = {
    cpuMs: (cpu.user + cpu.system) / 1000,
    heapMiB: Math.max(heap, process.memoryUsage().heapUsed) / 2 ** 20,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    excluded,
  };
  process.stdout.write(`${JSON.stringify(run)}\n`);
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      baseline: { type: "string" },
      rounds: { type: "string", default: "5" },
      paths: { type: "string", default: "100000" },
      child: { type: "string" },
    },
  });
  const count = Number(values.paths);
  if (values.child !== undefined) return child(values.child, count);
  const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const versions = [{ label: "this checkout", root: here }];
  if (values.baseline !== undefined) {
    versions.push({ label: `baseline ${values.baseline}`, root: path.resolve(values.baseline) });
  }
  const runs = new Map<string, Run[]>(versions.map((version) => [version.label, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 === 0 ? versions : [...versions].reverse();
    for (const version of order) {
      const output = execFileSync(
        process.execPath,
        [
          "--import",
          "tsx",
          fileURLToPath(import.meta.url),
          "--child",
          version.root,
          "--paths",
          String(count),
        ],
        { encoding: "utf8", cwd: here, env: { ...process.env } },
      );
      runs.get(version.label)?.push(JSON.parse(output) as Run);
    }
  }
  const lines = [
    `${PATTERNS.length} patterns × ${count} paths, medians of ${values.rounds} runs`,
    "",
    "| version | CPU | peak heap | peak RSS | excluded |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const [label, list] of runs) {
    const cpu = median(list.map((run) => run.cpuMs)).toFixed(0);
    const heap = median(list.map((run) => run.heapMiB)).toFixed(1);
    const rss = median(list.map((run) => run.maxRssMiB)).toFixed(1);
    lines.push(`| ${label} | ${cpu} ms | ${heap} MiB | ${rss} MiB | ${list[0]?.excluded} |`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
