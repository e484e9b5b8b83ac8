/** A second process for the lock test: opens a WAL directory, appends, says "ready", then waits to be killed. */
import process from "node:process";
import { fill, openWal } from "./wal.ts";

const { store } = await openWal(process.argv[2]);
await fill(store, 3);
process.stdout.write(`ready ${process.pid}\n`);
setInterval(() => {}, 60_000);
