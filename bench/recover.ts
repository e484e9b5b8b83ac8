/**
 * `recover.ts <wal directory> <expected state hash>`: opens the order-book engine on the
 * directory in this new process and prints what recovery took, as JSON (measureRecovery).
 * The benchmark suite runs it so that recovery is measured as a restart meets it.
 */
import process from "node:process";
import { measureRecovery } from "./lib/memory.ts";

const [directory, expectedHash] = process.argv.slice(2) as [string, string];
console.log(JSON.stringify(await measureRecovery(directory, expectedHash)));
