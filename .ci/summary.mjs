// The plain summary of a test run: how many tests each vitest project ran on each Node line, and
// whether any test failed or was skipped. Reads test-results.json (vitest's JSON reporter, written
// by `npm test` on the Node on PATH) and test-results-node<line>.json (each line of
// scripts/node-lines.mjs, written by `npm run test:lines`).
// Fails when a line's report is missing, when a project ran no test on a line that runs it, when a
// test file fits no project, when a file failed without a test to show for it (an import error),
// or when any test failed or was skipped, but for the podman project's exclusions by name
// (test/integration/podman/excluded.mjs), each of which must be there to skip.
import { readFileSync } from "node:fs";
import path from "node:path";
import { NODE_LINES, reportOf } from "../scripts/node-lines.mjs";
import { PODMAN_EXCLUDED } from "../test/integration/podman/excluded.mjs";

const root = path.resolve(import.meta.dirname, "..");

// The include patterns of vitest.config.ts, one per project.
const projects = {
  unit: /^test\/(?!integration\/|python-parity\/).+\.test\.ts$/,
  python: /^test\/python-parity\/.+\.test\.ts$/,
  types: /^test\/.+\.test-d\.ts$/,
  integration: /^test\/integration\/(?!podman\/).+\.test\.ts$/,
  podman: /^test\/integration\/podman\/.+\.test\.ts$/,
};

const runs = [
  {
    label: `Node ${process.versions.node}`,
    file: path.join(root, "test-results.json"),
    wants: Object.keys(projects),
  },
  ...NODE_LINES.map(({ version, projects: wants }) => ({
    label: `Node ${version}`,
    file: reportOf(Number(version.split(".")[0])),
    wants,
  })),
];

const excluded = new Map(
  PODMAN_EXCLUDED.map(([file, test, reason]) => [`${file} > ${test}`, reason]),
);
const problems = [];
const totals = { passed: 0, failed: 0, skipped: 0, excluded: 0 };
for (const run of runs) {
  let report;
  try {
    report = JSON.parse(readFileSync(run.file, "utf8"));
  } catch (error) {
    console.log(`${run.label}: no test report`);
    problems.push(`${run.label}: no test report (${error.message}): its tests did not run`);
    continue;
  }
  const counts = Object.fromEntries(run.wants.map((name) => [name, 0]));
  const skippedAsExcluded = new Set();
  for (const file of report.testResults) {
    const relative = path.relative(root, file.name).split(path.sep).join("/");
    const project = Object.keys(projects).find((name) => projects[name].test(relative));
    if (project === undefined) problems.push(`${run.label}: ${relative} belongs to no project`);
    else counts[project] = (counts[project] ?? 0) + file.assertionResults.length;
    if (file.status === "failed" && !file.assertionResults.some((t) => t.status === "failed")) {
      problems.push(
        `${run.label}: ${relative} failed: ${(file.message || "no message").split("\n")[0]}`,
      );
    }
    for (const test of file.assertionResults) {
      if (test.status === "passed") totals.passed++;
      else if (test.status === "failed") {
        totals.failed++;
        problems.push(`${run.label}: failed: ${relative} > ${test.fullName}`);
      } else {
        const name = `${path.basename(relative, ".test.ts")} > ${[...test.ancestorTitles, test.title].join(" > ")}`;
        if (project === "podman" && excluded.has(name)) {
          totals.excluded++;
          skippedAsExcluded.add(name);
        } else {
          totals.skipped++;
          problems.push(`${run.label}: ${test.status}: ${relative} > ${test.fullName}`);
        }
      }
    }
  }
  console.log(
    `${run.label}: ${Object.entries(counts)
      .map(([name, n]) => `${name} ${n}`)
      .join(", ")}`,
  );
  for (const [name, n] of Object.entries(counts)) {
    if (n === 0) problems.push(`${run.label}: no test ran in the ${name} project`);
  }
  if (run.wants.includes("podman")) {
    for (const name of excluded.keys()) {
      if (!skippedAsExcluded.has(name)) {
        problems.push(
          `${run.label}: podman exclusion "${name}" matches no test: remove it from test/integration/podman/excluded.mjs`,
        );
      }
    }
  }
}
console.log(
  `${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped, ${totals.excluded} excluded on Podman by name (test/integration/podman/excluded.mjs)`,
);
if (totals.skipped > 0) problems.push("tests were skipped: every test must run");
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
