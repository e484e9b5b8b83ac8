/**
 * A primary for the failover tests: `replicated-writer.ts <wal directory> <servers> <stream>`.
 * Appends one event per append (the event at position p is noted(p - 1) on stream
 * `s<(p - 1) % 8>`), 64 in flight, in the `replicated` mode on a 3-replica stream, and
 * prints `acked <position>` as acknowledgements come (in position order), until killed.
 * Refused at open (a deposed primary), it prints `refused <error name>: <message>` and
 * exits with status 3.
 */
import process from "node:process";
import { EventStore } from "../../mod.ts";
import { fileStorage } from "../../src/adapter/file/index.ts";
import { natsLog, replicatedStorage } from "../../src/adapter/nats/index.ts";
import { noted, testEvents } from "./fixtures.ts";

const [directory, servers, stream] = process.argv.slice(2) as [string, string, string];
const log = natsLog({ servers: servers.split(","), stream, replicas: 3, timeoutMs: 5000 });
const store = new EventStore({ events: testEvents(), storage: replicatedStorage(fileStorage(directory), log, { timeoutMs: 10_000 }) });
try {
  await store.open();
} catch (error) {
  console.log(`refused ${(error as Error).name}: ${(error as Error).message}`);
  process.exit(3);
}
let next = store.headPosition;
let acked = 0;
await Promise.all(Array.from({ length: 64 }, async () => {
  for (;;) {
    const n = next++;
    const { position } = await store.append(`s${n % 8}`, [noted(n)]);
    // Acknowledgements come in position order; print each new high mark.
    if (position > acked) {
      acked = position;
      process.stdout.write(`acked ${position}\n`);
    }
  }
}));
