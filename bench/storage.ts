/**
 * Storage benchmark: the same one-event appends, acknowledged durable, through the public
 * API (`store.append`) on every durable store, side by side in one run: the file WAL
 * (`durable`), PostgreSQL (one store, and four stores on one log) and SQLite.
 *
 *   node scripts/each-runtime.mjs bench/storage.ts [--quick] [--out DIR] [--in-flight N] [--repeat N]
 *   (npm run bench:storage; the README's figures: npm run bench:storage -- --repeat 4)
 *
 * Two ways to append, each its own row:
 * - batched: 1,024 appends in flight per store (a busy service; `--in-flight N`): the store or the database
 *   commits them in groups (group commit).
 * - per append: one append in flight, awaited before the next (a lone client): every
 *   append pays a whole commit.
 * Each append's latency from call to acknowledgement goes into an HDR histogram. The file
 * WAL also runs its own hot path (`enqueue` in batches, several batches awaiting
 * durability at once): no shared log has one.
 * PostgreSQL runs in a database of its own on EVENTFOLD_PG_URL (default: the machine's),
 * dropped at the end; where no server answers, its rows are skipped and the run says so.
 * Writes DIR/storage-<runtime>.json and .md (DIR defaults to bench/results).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { mkdirSync, writeFileSync } from "node:fs";
import { EventStore, type StorageAdapter } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { postgresStorage } from "../src/adapter/postgres/index.ts";
import { sqliteStorage } from "../src/adapter/sqlite/index.ts";
import { noted, testEvents } from "../test/support/fixtures.ts";
import { databaseUrl, dropDatabase } from "../test/support/postgres.ts";
import { temporaryDirectory } from "../test/support/temp.ts";
import { enqueueBatches } from "./lib/enqueue.ts";
import {
  endProgress,
  formatRate,
  machine,
  newHistogram,
  type Percentiles,
  percentiles,
  progress,
  runtimeName,
} from "./lib/stats.ts";

/** One row of the table. */
interface StorageResult {
  system: string;
  stores: number;
  inFlight: number;
  appends: number;
  appendsPerSecond: number;
  ack: Percentiles;
}

/** Appends `appends` one-event appends over `stores`, `inFlight` at a time per store. */
async function run(
  system: string,
  open: () => StorageAdapter,
  stores: number,
  inFlight: number,
  appends: number,
): Promise<StorageResult> {
  const opened = await Promise.all(Array.from({ length: stores }, async () => {
    const store = new EventStore({ events: testEvents(), storage: open() });
    await store.open();
    return store;
  }));
  const ack = newHistogram();
  const payloads = Array.from({ length: 1024 }, (_, i) => [noted(i)]);
  let next = 0;
  const started = performance.now();
  await Promise.all(opened.flatMap((store, s) =>
    Array.from({ length: inFlight }, async (_, lane) => {
      while (next < appends) {
        const i = next++;
        const t = performance.now();
        await store.append(`s${s}-${lane % 64}`, payloads[i & 1023]!);
        ack.recordValue(Math.max(1, Math.round((performance.now() - t) * 1e6)));
        if ((i & 0xfff) === 0) progress(`${system}: ${i}/${appends}`);
      }
    })
  ));
  const seconds = (performance.now() - started) / 1000;
  for (const store of opened) await store.close();
  endProgress();
  return {
    system,
    stores,
    inFlight,
    appends,
    appendsPerSecond: Math.round(appends / seconds),
    ack: percentiles(ack),
  };
}

/**
 * The file WAL's own hot path, for the same events: `enqueue` (synchronous) in batches of
 * `batch`, with up to BATCHES_IN_FLIGHT batches awaiting their durable acknowledgement
 * (each batch's latency from its first enqueue to durable). Shared logs have no such path:
 * their store must await the log for positions.
 */
const BATCHES_IN_FLIGHT = 8;
async function runEnqueue(directory: string, batch: number, appends: number): Promise<StorageResult> {
  const store = new EventStore({ events: testEvents(), storage: fileStorage(directory, { durability: "durable" }) });
  await store.open();
  const { appendsPerSecond, ack } = await enqueueBatches(store, appends, batch, BATCHES_IN_FLIGHT);
  await store.close();
  endProgress();
  return { system: "file WAL (durable), enqueue", stores: 1, inFlight: batch, appends, appendsPerSecond, ack };
}

/** The median of `values`, and their range. */
function spread(values: number[], format: (value: number) => string): string {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return sorted.length === 1
    ? format(median)
    : `${format(median)} (${format(sorted[0]!)}–${format(sorted.at(-1)!)})`;
}

/**
 * The table: one row per system and way of appending; with several runs, each figure is
 * the median and (in brackets) the range over them, and each ratio to PostgreSQL batched is
 * taken within one run.
 */
function storageTable(runs: StorageResult[][]): string {
  const postgres = runs.map((results) =>
    results.find((r) => r.system === "PostgreSQL" && r.stores === 1 && r.inFlight > 1)
  );
  const rows = runs[0]!.map((r, row) => {
    const across = runs.map((results) => results[row]!);
    const how = r.system.endsWith("enqueue")
      ? `enqueue, ${BATCHES_IN_FLIGHT} batches of ${r.inFlight} in flight`
      : r.inFlight > 1
      ? `batched (${r.inFlight} in flight per store)`
      : "per append";
    const ratio = postgres.every((p) => p !== undefined)
      ? spread(
        across.map((x, run) => x.appendsPerSecond / postgres[run]!.appendsPerSecond),
        (v) => `${v.toFixed(2)}x`,
      )
      : "-";
    const micros = (v: number) => String(Math.round(v));
    return `| ${r.system} | ${r.stores} | ${how} | ${r.appends.toLocaleString("en")} | ${
      spread(across.map((x) => x.appendsPerSecond), formatRate)
    } | ${ratio} | ${spread(across.map((x) => x.ack.p50), micros)} | ${
      spread(across.map((x) => x.ack.p99), micros)
    } |`;
  });
  return [
    `| store | stores | appends | appends measured | appends/s (1 event each) | vs PostgreSQL batched, 1 store | ack p50 µs | ack p99 µs |`,
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

// A script on every runtime (Node 20 has no import.meta.main).
const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string", default: "bench/results" },
    "in-flight": { type: "string", default: "1024" },
    repeat: { type: "string", default: "1" },
  },
});
const { quick, out } = values;
const inFlightBatched = Number(values["in-flight"]);
if (!Number.isInteger(inFlightBatched) || inFlightBatched < 2) {
  throw new Error(`--in-flight: must be an integer of at least 2, got ${values["in-flight"]}`);
}
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) {
  throw new Error(`--repeat: must be a positive integer, got ${values.repeat}`);
}
const sizes = quick ? { batched: 2_000, single: 100 } : { batched: 200_000, single: 2_000 };
const runtime = runtimeName();
const version = process.versions[runtime]!;
const directory = temporaryDirectory("eventfold-bench-storage-");
const runs: StorageResult[][] = [];
const notes = new Set<string>();
let files = 0;
const file = () => `${directory.path}/${++files}`;
try {
  for (let round = 1; round <= repeat; round++) {
    const results: StorageResult[] = [];
    for (const inFlight of [inFlightBatched, 1]) {
      const appends = inFlight > 1 ? sizes.batched : sizes.single;
      results.push(
        await run(
          "file WAL (durable)",
          () => fileStorage(file(), { durability: "durable" }),
          1,
          inFlight,
          appends,
        ),
      );
      if (inFlight > 1) results.push(await runEnqueue(file(), inFlight, appends * 5));
      let url: string | undefined;
      try {
        url = await databaseUrl();
      } catch (error) {
        notes.add(`PostgreSQL skipped: ${(error as Error).message}`);
      }
      if (url !== undefined) {
        for (const stores of [1, 4]) {
          const schema = `bench_${++files}`;
          results.push(
            await run("PostgreSQL", () => postgresStorage({ url, schema }), stores, inFlight, appends),
          );
        }
      }
      const sqlite = file();
      mkdirSync(sqlite);
      results.push(
        await run(
          "SQLite (synchronous=FULL)",
          () => sqliteStorage({ path: `${sqlite}/events.db` }),
          1,
          inFlight,
          appends,
        ),
      );
    }
    runs.push(results);
    if (repeat > 1) console.log(`- run ${round} of ${repeat} done`);
  }
} finally {
  directory.remove();
  await dropDatabase().catch(() => {});
}
const report = [
  `## Durable appends by store: ${runtime} ${version}${quick ? " (quick: figures not worth quoting)" : ""}`,
  "",
  `${new Date().toISOString().slice(0, 10)}, ${machine()}; ${
    repeat > 1 ? `median (lowest–highest) of ${repeat} runs; ` : ""
  }one event per append, acknowledged once durable (WAL fdatasync, PostgreSQL COMMIT, SQLite COMMIT with synchronous=FULL); PostgreSQL on ${
    process.env.EVENTFOLD_PG_URL ? "EVENTFOLD_PG_URL" : "this machine (127.0.0.1:5432)"
  }, its default synchronous_commit.`,
  "",
  storageTable(runs),
  ...[...notes].map((note) => `\n${note}`),
  "",
].join("\n");
console.log(report);
mkdirSync(out, { recursive: true });
writeFileSync(
  `${out}/storage-${runtime}.json`,
  JSON.stringify({ runtime, version, quick, date: new Date().toISOString(), machine: machine(), runs }, null, 2) + "\n",
);
writeFileSync(`${out}/storage-${runtime}.md`, report);
console.log(`wrote ${out}/storage-${runtime}.json and .md`);
