// The plain summary of a test run: how many tests each vitest project ran, and whether any test
// failed or was skipped. Reads test-results.json (vitest's JSON reporter, written by `npm test`).
// Fails when a project ran no test, when a test file fits no project, when a file failed without
// a test to show for it (an import error), or when any test failed or was skipped.
import { readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
let report;
try {
  report = JSON.parse(readFileSync(path.join(root, "test-results.json"), "utf8"));
} catch (error) {
  console.error(`no test report (${error.message}): the tests did not run`);
  process.exit(1);
}

// The include patterns of vitest.config.ts, one per project.
const projects = {
  unit: /^test\/(?!integration\/|python\/).+\.test\.ts$/,
  python: /^test\/python\/.+\.test\.ts$/,
  types: /^test\/.+\.test-d\.ts$/,
  integration: /^test\/integration\/.+\.test\.ts$/,
};
const counts = Object.fromEntries(Object.keys(projects).map((name) => [name, 0]));
const problems = [];
for (const file of report.testResults) {
  const relative = path.relative(root, file.name).split(path.sep).join("/");
  const project = Object.keys(projects).find((name) => projects[name].test(relative));
  if (project === undefined) problems.push(`${relative} belongs to no project`);
  else counts[project] += file.assertionResults.length;
  if (file.status === "failed" && !file.assertionResults.some((t) => t.status === "failed")) {
    problems.push(`${relative} failed: ${(file.message || "no message").split("\n")[0]}`);
  }
  for (const test of file.assertionResults) {
    if (test.status === "failed") problems.push(`failed: ${relative} > ${test.fullName}`);
  }
}
console.log(
  Object.entries(counts)
    .map(([name, n]) => `${name} ${n}`)
    .join(", "),
);
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
for (const [name, n] of Object.entries(counts)) {
  if (n === 0) problems.push(`no test ran in the ${name} project`);
}
if (skipped > 0) problems.push("tests were skipped: every test must run");
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
