#!/usr/bin/env node
// Runs the test suite on Deno, Bun and Node (Deno and Bun from node_modules/.bin; Node
// on the tests compiled into build/node by tsc), then prints one line per runtime and a
// closing `N passed, N failed` that sums them. Exits non-zero if any test failed, a runtime
// failed to run, or a runtime ran no test.
//
// Usage: node scripts/test-all.mjs [--full] [deno|bun|node ...] [-- extra test args]
//   --full  the long sweeps at full size (EVENTFOLD_FULL=1: power loss at every sync point,
//           1 M fuzz inputs, the whole I/O-error sweep) and, first, 200 kill -9s of the
//           crash harness per runtime (counted as one check each). CI runs this.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const args = process.argv.slice(2);
const split = args.indexOf("--");
const options = split < 0 ? args : args.slice(0, split);
const extra = split < 0 ? [] : args.slice(split + 1);
const full = options.includes("--full");
const picked = options.filter((option) => option !== "--full");
const runtimes = picked.length > 0 ? picked : ["deno", "bun", "node"];
const unknown = runtimes.filter((runtime) => !["deno", "bun", "node"].includes(runtime));
if (unknown.length > 0) {
  console.error(`unknown runtime(s): ${unknown.join(", ")} (deno, bun or node)`);
  process.exit(2);
}
const env = { ...process.env, ...(full ? { EVENTFOLD_FULL: "1" } : {}) };
const reports = mkdtempSync(join(tmpdir(), "eventfold-test-"));

/** Compiles the tests for Node (once), so Node 20, which cannot run TypeScript, runs them as JavaScript. */
let built = false;
function buildForNode() {
  if (built) return true;
  console.log("\n== node: tsc -p tsconfig.test.json (tests compiled into build/node)");
  rmSync(join(root, "build", "node"), { recursive: true, force: true });
  const { status } = spawnSync(bin("tsc"), ["-p", join(root, "tsconfig.test.json")], { stdio: "inherit", cwd: root });
  built = status === 0;
  return built;
}
const nodeTests = () =>
  extra.length ? extra.map((file) => join("build", "node", file.replace(/\.ts$/, ".js")))
    : readdirSync(join(root, "build", "node", "test")).filter((name) => name.endsWith(".test.js")).sort().map((name) => join("build", "node", "test", name));

const commands = {
  deno: (report) => [bin("deno"), ["test", "-A", "--no-check", `--junit-path=${report}`, ...(extra.length ? extra : ["test/"])]],
  bun: (report) => [bin("bun"), ["test", "--timeout=600000", "--reporter=junit", `--reporter-outfile=${report}`, ...extra]],
  node: (report) => [process.execPath, [
    "--test", "--test-reporter=spec", "--test-reporter-destination=stdout",
    "--test-reporter=junit", `--test-reporter-destination=${report}`, ...nodeTests(),
  ]],
};
const crashHarness = {
  deno: () => [bin("deno"), ["run", "-A", "tools/crash/run.ts"]],
  bun: () => [bin("bun"), ["tools/crash/run.ts"]],
  node: () => [process.execPath, ["build/node/tools/crash/run.js"]],
};

/** Counts leaf test cases in a JUnit report (Deno also lists each describe() as a case); skipped ones apart. */
function count(xml) {
  const cases = [...xml.matchAll(/<testcase\b[^>]*?name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)]
    .map((m) => ({ name: m[1], failed: /<(failure|error)\b/.test(m[3] ?? ""), skipped: /<skipped\b/.test(m[3] ?? "") }));
  const names = cases.map((c) => c.name);
  const leaves = cases.filter((c) => !names.some((other) => other.startsWith(`${c.name} &gt; `)));
  const failed = leaves.filter((c) => c.failed).length;
  const skipped = leaves.filter((c) => c.skipped && !c.failed).length;
  return { passed: leaves.length - failed - skipped, failed, skipped };
}

let passed = 0;
let failed = 0;
let ok = true;
const lines = [];
const crashSeed = process.env.CRASH_SEED ?? String(Date.now() % 1_000_000_000);
for (const runtime of runtimes) {
  const result = { passed: 0, failed: 0, skipped: 0 };
  const notes = [];
  if (runtime === "node" && !buildForNode()) {
    console.error("node: the tests did not compile");
    ok = false;
    result.failed = 1;
  } else {
    if (full) {
      const [command, commandArgs] = crashHarness[runtime]();
      const harnessArgs = [...commandArgs, "--iterations", "200", "--seed", crashSeed];
      console.log(`\n== ${runtime}: crash harness, ${[command.split("/").pop(), ...harnessArgs].join(" ")}`);
      const run = spawnSync(command, harnessArgs, { stdio: "inherit", cwd: root, env });
      if (run.status === 0) result.passed++;
      else {
        result.failed++;
        ok = false;
      }
      notes.push(`crash harness ${run.status === 0 ? "passed" : "FAILED"}`);
    }
    const report = join(reports, `${runtime}.xml`);
    const [command, commandArgs] = commands[runtime](report);
    console.log(`\n== ${runtime}: ${[command.split("/").pop(), ...commandArgs].join(" ")}`);
    const run = spawnSync(command, commandArgs, { stdio: "inherit", cwd: root, env });
    let tests = { passed: 0, failed: 0 };
    try {
      tests = count(readFileSync(report, "utf8"));
    } catch {
      console.error(`${runtime}: no test report was written`);
    }
    if (run.status !== 0) ok = false;
    if (run.status !== 0 && tests.failed === 0) tests.failed = 1; // crashed outside any test
    if (tests.passed + tests.failed === 0) {
      console.error(`${runtime}: ran no test`);
      ok = false;
    }
    result.passed += tests.passed;
    result.failed += tests.failed;
    result.skipped += tests.skipped ?? 0;
  }
  passed += result.passed;
  failed += result.failed;
  if (result.skipped) notes.push(`${result.skipped} skipped`);
  lines.push(`${runtime}: ${result.passed} passed, ${result.failed} failed${notes.length ? ` (${notes.join(", ")})` : ""}`);
}
rmSync(reports, { recursive: true, force: true });
console.log(`\n${full ? "full run (EVENTFOLD_FULL=1, crash harness seed " + crashSeed + ")" : "quick run (npm test -- --full for the long sweeps)"}`);
for (const line of lines) console.log(line);
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
