#!/usr/bin/env node
// The `eventfold` command: runs the TypeScript CLI (src/cli/main.ts) on Bun or Deno —
// Bun when started by Bun (`bun run cli`), otherwise whichever is installed, the
// project's own copy first.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const main = join(root, "src", "cli", "main.ts");
const args = process.argv.slice(2);
const viaBun = process.versions.bun !== undefined || (process.env.npm_config_user_agent ?? "").startsWith("bun");
const local = (name) => join(root, "node_modules", ".bin", name);
const candidates = viaBun
  ? [["bun", [main, ...args]]]
  : [["deno", ["run", "-A", main, ...args]], ["bun", [main, ...args]]];

for (const [name, commandArgs] of candidates) {
  const command = existsSync(local(name)) ? local(name) : name;
  const { status, error } = spawnSync(command, commandArgs, { stdio: "inherit" });
  if (error?.code === "ENOENT") continue; // not installed: try the next runtime
  if (error) throw error;
  process.exit(status ?? 1);
}
console.error("eventfold: needs Deno or Bun (npm install deno, or npm install bun)");
process.exit(1);
