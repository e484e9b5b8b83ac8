#!/usr/bin/env node
// Runs the test suite on Deno and on Bun (both from node_modules/.bin), then prints one
// line per runtime and a closing `N passed, N failed` that sums them. Exits non-zero if
// any test failed, a runtime failed to run, or a runtime ran no test.
// Usage: node scripts/test-all.mjs [deno|bun ...] [-- extra test args]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = (name) => join(import.meta.dirname, "..", "node_modules", ".bin", name);
const args = process.argv.slice(2);
const split = args.indexOf("--");
const picked = split < 0 ? args : args.slice(0, split);
const extra = split < 0 ? [] : args.slice(split + 1);
const runtimes = picked.length > 0 ? picked : ["deno", "bun"];
const reports = mkdtempSync(join(tmpdir(), "eventfold-test-"));

const commands = {
  deno: (report) => [bin("deno"), ["test", "-A", "--no-check", `--junit-path=${report}`, ...(extra.length ? extra : ["test/"])]],
  bun: (report) => [bin("bun"), ["test", "--timeout=600000", "--reporter=junit", `--reporter-outfile=${report}`, ...extra]],
};

/** Counts leaf test cases in a JUnit report: Deno also lists each describe() as a case. */
function count(xml) {
  const cases = [...xml.matchAll(/<testcase\b[^>]*?name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)]
    .map((m) => ({ name: m[1], failed: /<(failure|error)\b/.test(m[3] ?? "") }));
  const names = cases.map((c) => c.name);
  const leaves = cases.filter((c) => !names.some((other) => other.startsWith(`${c.name} &gt; `)));
  const failed = leaves.filter((c) => c.failed).length;
  return { passed: leaves.length - failed, failed };
}

let passed = 0;
let failed = 0;
let ok = true;
const lines = [];
for (const runtime of runtimes) {
  const report = join(reports, `${runtime}.xml`);
  const [command, commandArgs] = commands[runtime](report);
  console.log(`\n== ${runtime}: ${[command.split("/").pop(), ...commandArgs].join(" ")}`);
  const run = spawnSync(command, commandArgs, { stdio: "inherit" });
  let result = { passed: 0, failed: 0 };
  try {
    result = count(readFileSync(report, "utf8"));
  } catch {
    console.error(`${runtime}: no test report was written`);
  }
  if (run.status !== 0) ok = false;
  if (run.status !== 0 && result.failed === 0) result.failed = 1; // crashed outside any test
  if (result.passed + result.failed === 0) {
    console.error(`${runtime}: ran no test`);
    ok = false;
  }
  passed += result.passed;
  failed += result.failed;
  lines.push(`${runtime}: ${result.passed} passed, ${result.failed} failed`);
}
rmSync(reports, { recursive: true, force: true });
console.log("");
for (const line of lines) console.log(line);
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
