#!/usr/bin/env node
// Runs a TypeScript entry point on Deno, then on Bun: `node scripts/each-runtime.mjs
// bench/run.ts --quick`. Under `bun run` (package scripts such as `bun run bench`) it runs
// on Bun only. Deno gets -A and --expose-gc (the benchmarks force collections).
import { spawnSync } from "node:child_process";

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error("usage: node scripts/each-runtime.mjs <script.ts> [arguments]");
  process.exit(2);
}
const viaBun = (process.env.npm_config_user_agent ?? "").startsWith("bun");
const runs = [
  ["deno", ["run", "-A", "--v8-flags=--expose-gc", script, ...args]],
  ["bun", [script, ...args]],
].filter(([command]) => !viaBun || command === "bun");

for (const [command, commandArgs] of runs) {
  const { status, error } = spawnSync(command, commandArgs, { stdio: "inherit" });
  if (error) throw error;
  if (status !== 0) process.exit(status ?? 1);
}
