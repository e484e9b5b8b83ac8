/**
 * A writer for the SQLite disk-failure test, run under a file-size limit: appends until
 * the file cannot grow, then once more. Prints JSON: the positions acknowledged, the first
 * error, and whether the next append was refused with that same error (fail-stop).
 * `sqlite-full.ts <path>`.
 */
import process from "node:process";
import { openEventStore } from "../../mod.ts";
import { sqliteStorage } from "../../src/adapter/sqlite/index.ts";
import { noted, testEvents } from "./fixtures.ts";

const store = await openEventStore({ events: testEvents(), storage: sqliteStorage({ path: process.argv[2]! }) });
const acknowledged: number[] = [];
let first: unknown;
for (let i = 0; first === undefined && i < 100_000; i++) {
  try {
    const text = (c: string) => c.repeat(100);
    acknowledged.push((await store.append(`s-${i % 5}`, [noted(i, text("x")), noted(i, text("y")), noted(i, text("z"))])).position);
  } catch (error) {
    first = error;
  }
}
let second: unknown;
try {
  await store.append("after", [noted(-1)]);
} catch (error) {
  second = error;
}
console.log(JSON.stringify({ acknowledged, first: `${(first as Error)?.name}: ${(first as Error)?.message}`, sameError: second === first }));
await store.close().catch(() => {});
