#!/usr/bin/env node
// Every public export documented: runs `deno doc --lint` over the package's entry points
// and fails on any problem in our own files. The one kind let through is a reference to
// zod's or Standard Schema's own types (ZodType, input, output, StandardSchemaV1): they
// are theirs, documented there; and the
// inferred types of zod schemas and event definitions (written out, they would repeat
// the schema field by field). Each of those still needs its doc comment.
import { spawnSync } from "node:child_process";
import { stripVTControlCharacters } from "node:util";

const entries = JSON.parse((await import("node:fs")).readFileSync("deno.json", "utf8")).exports;
const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
const { stderr, stdout, error } = spawnSync(deno, ["doc", "--lint", ...Object.values(entries)], { encoding: "utf8" });
if (error) throw error;
const text = stripVTControlCharacters(stderr + stdout);
const problems = [];
for (const block of text.split(/\n(?=error\[)/)) {
  const head = /^error\[([\w-]+)\]: (.*)/.exec(block);
  if (!head) continue;
  const where = /--> (.*)/.exec(block)?.[1] ?? "?";
  const [, kind, message] = head;
  if (kind === "private-type-ref" && /references private type '(ZodType|input|output|StandardSchemaV1(\.\w+)?)'/.test(message)) continue;
  const line = /\n\s*(\d+) \| (.*)/.exec(block)?.[2] ?? "";
  if (kind === "missing-explicit-type" && /= (z\.(object|discriminatedUnion)|defineEvent)\(/.test(line)) continue;
  problems.push(`${where.replace(process.cwd() + "/", "")}: ${kind}: ${message}`);
}
for (const problem of problems) console.error(problem);
if (problems.length > 0) {
  console.error(`${problems.length} documentation problem(s) in the public API`);
  process.exit(1);
}
