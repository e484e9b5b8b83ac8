/**
 * Open benchmark: how long opening a large file-WAL log takes, from its index checkpoint
 * (what `close` and `EventStore.checkpoint()` save) and by reading every record (the same
 * log with the checkpoint moved aside), side by side in one run, rounds alternating.
 *
 *   node scripts/each-runtime.mjs bench/open.ts [--events N] [--streams S] [--rounds R] [--quick] [--out DIR]
 *   (npm run bench:open; defaults: 10,000,000 events, rounds 3)
 *
 * Two logs of N one-event appends (`async` mode, ids not stored): one stream (a hot
 * aggregate, as the order book's instrument), and S streams (default 10,000) taken in
 * turn, so no two neighbours share a stream: the index's worst case (a run per event).
 * Open time is `EventStore.open()` to resolution (index, event buffer of 10,000 decoded);
 * `close` of the fresh log includes writing its checkpoint. Writes DIR/open-<runtime>.md
 * and .json (DIR defaults to bench/results).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { mkdirSync, renameSync, statSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventStore } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { noted, type TestEvent, testEvents } from "../test/support/fixtures.ts";
import { temporaryDirectory } from "../test/support/temp.ts";
import { endProgress, progress, runtimeName } from "./lib/stats.ts";

const { values: args } = parseArgs({
  options: {
    events: { type: "string" },
    streams: { type: "string", default: "10000" },
    rounds: { type: "string" },
    quick: { type: "boolean", default: false },
    out: { type: "string", default: "bench/results" },
  },
});
const events = Number(args.events ?? (args.quick ? 20_000 : 10_000_000));
const rounds = Number(args.rounds ?? (args.quick ? 1 : 3));
const manyStreams = Number(args.streams);
for (const [name, value] of [["events", events], ["streams", manyStreams], ["rounds", rounds]] as const) {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be an integer >= 1, got ${value}`);
}

const open = async (directory: string) => {
  const store = new EventStore({ events: testEvents(), storage: fileStorage(directory, { durability: "async" }), eventIds: "given" });
  const started = performance.now();
  await store.open();
  return { store, ms: performance.now() - started };
};

const bytesIn = (directory: string, suffix: string) =>
  readdirSync(directory).filter((name) => name.endsWith(suffix)).reduce((sum, name) => sum + statSync(join(directory, name)).size, 0);

interface OpenResult {
  log: string;
  events: number;
  streams: number;
  logBytes: number;
  checkpointBytes: number;
  writeMs: number;
  closeMs: number;
  fullMs: number[];
  checkpointMs: number[];
}

async function measure(log: string, streams: number, directory: string): Promise<OpenResult> {
  const { store } = await open(directory);
  const payloads = Array.from({ length: 1024 }, (_, i) => [noted(i)] as TestEvent[]);
  const ids = Array.from({ length: streams }, (_, i) => `s-${i}`);
  const started = performance.now();
  for (let i = 0; i < events; i++) {
    store.enqueue(ids[i % streams]!, payloads[i & 1023]!);
    if (i % 65_536 === 0) {
      await store.durable(); // keep the ring from filling up with no turn of the event loop
      progress(`${log}: ${i.toLocaleString("en")} / ${events.toLocaleString("en")} events`);
    }
  }
  await store.durable();
  const writeMs = performance.now() - started;
  const closing = performance.now();
  await store.close();
  const closeMs = performance.now() - closing;
  const checkpoint = join(directory, "index.checkpoint");
  const result: OpenResult = {
    log, events, streams, writeMs, closeMs, fullMs: [], checkpointMs: [],
    logBytes: bytesIn(directory, ".wal"), checkpointBytes: statSync(checkpoint).size,
  };
  for (let round = 1; round <= rounds; round++) {
    progress(`${log}: open round ${round} / ${rounds}`);
    const fromCheckpoint = await open(directory);
    assertHead(fromCheckpoint.store);
    await fromCheckpoint.store.close();
    result.checkpointMs.push(fromCheckpoint.ms);
    // The same log without its checkpoint: every record read. Its close writes a new one.
    renameSync(checkpoint, `${checkpoint}.aside`);
    const full = await open(directory);
    assertHead(full.store);
    await full.store.close();
    result.fullMs.push(full.ms);
    renameSync(`${checkpoint}.aside`, checkpoint);
  }
  endProgress();
  return result;
}

function assertHead(store: EventStore<TestEvent>): void {
  if (store.headPosition !== events) throw new Error(`opened at position ${store.headPosition}, expected ${events}`);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 1000 ? 3 : 2)} s`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

const runtime = runtimeName();
const results: OpenResult[] = [];
for (const [log, streams] of [["one stream", 1], [`${manyStreams.toLocaleString("en")} streams in turn`, manyStreams]] as const) {
  const directory = temporaryDirectory("eventfold-open-");
  try {
    results.push(await measure(log, streams, directory.path));
  } finally {
    directory.remove();
  }
}

const lines = [
  `### Opening a ${events.toLocaleString("en")}-event log (${runtime})`,
  "",
  `Median of ${rounds} round(s), alternating; \`npm run bench:open\`.`,
  "",
  "| log | log size | checkpoint | open, reading every record | open from the checkpoint | ratio | close (writes the checkpoint) |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...results.map((r) =>
    `| ${r.log} | ${mib(r.logBytes)} | ${mib(r.checkpointBytes)} | ${seconds(median(r.fullMs))} | ${seconds(median(r.checkpointMs))} | ` +
    `${(median(r.fullMs) / median(r.checkpointMs)).toFixed(1)}× | ${seconds(r.closeMs)} |`
  ),
  "",
];
const markdown = lines.join("\n");
console.log(markdown);
mkdirSync(args.out!, { recursive: true });
writeFileSync(join(args.out!, `open-${runtime}.md`), markdown);
writeFileSync(join(args.out!, `open-${runtime}.json`), JSON.stringify(results, null, 2));
process.exit(0);
