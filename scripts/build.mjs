#!/usr/bin/env node
// Builds the npm package: ESM JavaScript + .d.ts from the TypeScript sources into dist/
// (tsconfig.json), from scratch so no file of a removed module lingers. npm pack and npm
// publish run it (prepack); `npm run cli` too. Not a prepare script: users installing the
// package would be asked to approve it.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
rmSync(join(root, "dist"), { recursive: true, force: true });
const { status, error } = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(root, "tsconfig.json")], { stdio: "inherit" });
if (error) throw error;
if (status !== 0) process.exit(status ?? 1);

// tsc rewrites "./x.ts" to "./x.js" in the JavaScript it emits but keeps ".ts" in the
// declarations, where no .ts file exists beside them: point those at the .js (whose
// types are the .d.ts next to it), as every consumer's resolver expects.
const relativeTs = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g;
let rewritten = 0;
for (const entry of readdirSync(join(root, "dist"), { recursive: true })) {
  const file = join(root, "dist", entry);
  if (!file.endsWith(".d.ts")) continue;
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(relativeTs, "$1$2.js$3");
  if (fixed !== text) {
    writeFileSync(file, fixed);
    rewritten++;
  }
}
console.log(`built dist/ (${rewritten} declaration files' imports pointed at .js)`);
