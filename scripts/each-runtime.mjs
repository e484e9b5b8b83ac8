#!/usr/bin/env node
// Runs a TypeScript entry point on Deno, on Bun, then on Node: `node scripts/each-runtime.mjs
// bench/run.ts --quick`. Node 20 cannot run TypeScript, so it runs the script compiled into
// build/node (tsconfig.test.json, compiled first). Under `bun run` (package scripts such as
// `bun run bench`) it runs on Bun only. Deno and Node get V8's gc exposed (the benchmarks
// force collections).
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error("usage: node scripts/each-runtime.mjs <script.ts> [arguments]");
  process.exit(2);
}
const viaBun = (process.env.npm_config_user_agent ?? "").startsWith("bun");
const compiled = join(root, "build", "node", script.replace(/\.ts$/, ".js"));
const runs = [
  ["deno", [bin("deno"), ["run", "-A", "--v8-flags=--expose-gc", script, ...args]]],
  ["bun", [bin("bun"), [script, ...args]]],
  ["node", [process.execPath, ["--expose-gc", compiled, ...args]]],
].filter(([runtime]) => !viaBun || runtime === "bun");

for (const [runtime, [command, commandArgs]] of runs) {
  if (runtime === "node") {
    const build = spawnSync(bin("tsc"), ["-p", join(root, "tsconfig.test.json")], { stdio: "inherit" });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  const { status, error } = spawnSync(command, commandArgs, { stdio: "inherit" });
  if (error) throw error;
  if (status !== 0) process.exit(status ?? 1);
}
