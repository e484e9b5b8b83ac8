#!/usr/bin/env node
// `npm run bench` runs the suite on Deno, then on Bun; `bun run bench` (which runs this
// same package script) runs it on Bun only. Arguments pass through: `npm run bench -- --quick`.
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const viaBun = (process.env.npm_config_user_agent ?? "").startsWith("bun");
const runs = [
  ["deno", ["run", "-A", "--v8-flags=--expose-gc", "bench/run.ts", ...args]],
  ["bun", ["bench/run.ts", ...args]],
].filter(([command]) => !viaBun || command === "bun");

for (const [command, commandArgs] of runs) {
  const { status, error } = spawnSync(command, commandArgs, { stdio: "inherit" });
  if (error) throw error;
  if (status !== 0) process.exit(status ?? 1);
}
