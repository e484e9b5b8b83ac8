/**
 * One of many openers racing for a WAL directory (the lock test): waits until the agreed
 * moment, tries to open the directory, and if it gets it writes "enter <pid>" to the
 * journal, appends an event, holds on a little, writes "leave <pid>" and closes. The
 * journal is appended with O_APPEND by every racer, so it orders every holder's tenure.
 * Prints "won", "refused" or the error.
 */
import { appendFileSync } from "node:fs";
import process from "node:process";
import { StorageError } from "../../mod.ts";
import { noted } from "./fixtures.ts";
import { openWal } from "./wal.ts";

const [directory, journal, startAt] = process.argv.slice(2) as [string, string, string];
while (Date.now() < Number(startAt)) { /* spin to the common start so the opens truly race */ }
try {
  const { store } = await openWal(directory);
  appendFileSync(journal, `enter ${process.pid}\n`);
  await store.append("s", [noted(process.pid)]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  appendFileSync(journal, `leave ${process.pid}\n`);
  await store.close();
  console.log("won");
} catch (error) {
  if (error instanceof StorageError && /already open for writing/.test(error.message)) console.log("refused");
  else {
    console.log(`error ${(error as Error).stack}`);
    process.exitCode = 1;
  }
}
