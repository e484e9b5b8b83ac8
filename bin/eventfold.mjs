#!/usr/bin/env node
// The `eventfold` command: the CLI built into dist/ (plain JavaScript), so it runs the same
// under `npx eventfold` (Node), `bunx eventfold` (Bun) and `deno run -A npm:eventfold` (Deno).
let cli;
try {
  cli = await import("../dist/src/cli/main.js");
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist")) throw error;
  console.error("eventfold: dist/ is missing; in a clone of the repository, `npm run build` builds it (`npm run cli -- …` does so itself)");
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
