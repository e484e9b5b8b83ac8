/**
 * A writer process for the shared-log tests: `shared-append.ts <mode> <base> <count> <adapter> <where...>`,
 * where `<adapter> <where...>` is `postgres <url> <schema>` or `sqlite <path>`.
 * mode "race": appends `count` events to stream "counter", each on the version it last
 * saw, retrying on ConcurrencyError. mode "batches": appends batches of 5 events (n =
 * base + 10 * batch + i) forever, printing "ready" after the first: for kill -9 tests.
 */
import process from "node:process";
import { ConcurrencyError, openEventStore, type StorageAdapter } from "../../mod.ts";
import { postgresStorage } from "../../src/adapter/postgres/index.ts";
import { sqliteStorage } from "../../src/adapter/sqlite/index.ts";
import { noted, testEvents } from "./fixtures.ts";

const [mode, base, count, adapter, ...where] = process.argv.slice(2) as [string, string, string, string, ...string[]];
const storage: StorageAdapter = adapter === "postgres"
  ? postgresStorage({ url: where[0], schema: where[1] })
  : sqliteStorage({ path: where[0]! });
const store = await openEventStore({ events: testEvents(), storage });
if (mode === "race") {
  for (let i = 0; i < Number(count); i++) {
    for (;;) {
      await store.catchUp();
      try {
        await store.append("counter", [noted(Number(base) + i)], { expectedVersion: store.streamVersion("counter") });
        break;
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
      }
    }
  }
  await store.close();
  console.log("done");
} else {
  for (let batch = 0; ; batch++) {
    await store.append(`b-${batch % 7}`, [0, 1, 2, 3, 4].map((i) => noted(Number(base) + 10 * batch + i)));
    if (batch === 0) console.log("ready");
  }
}
