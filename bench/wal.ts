/**
 * WAL append benchmark: the same stream of single-event appends through every durability
 * mode, side by side in one process: memory (no WAL), async, durable (group commit) and
 * sync (fdatasync per event, the slow baseline).
 *
 *   deno run -A bench/wal.ts [--events N] [--quick]      bun run bench/wal.ts [...]
 *
 * Throughput: enqueue N appends flat out, then await durability of the last one.
 * Latency: a second pass times every enqueue (the critical path: validate, encode into
 * the ring) into an HDR histogram; in durable mode it also records, per batch of 1,000,
 * the time from the batch's first enqueue to its durable acknowledgement.
 */
import process from "node:process";
import { EventStore, memoryStorage, type StorageAdapter } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { noted, testEvents } from "../test/support/fixtures.ts";
import { temporaryDirectory } from "../test/support/temp.ts";
import { endProgress, formatRate, newHistogram, type Percentiles, percentiles, progress, runtimeName } from "./lib/stats.ts";

interface WalModeResult {
  mode: string;
  events: number;
  appendsPerSecond: number;
  enqueue: Percentiles;
  durableAck?: Percentiles;
}

type Mode = "memory" | "async" | "durable" | "sync";

async function openStore(mode: Mode, directory: string): Promise<EventStore> {
  const storage: StorageAdapter = mode === "memory" ? memoryStorage() : fileStorage(directory, { durability: mode });
  const store = new EventStore({ events: testEvents(), storage });
  await store.open();
  return store as unknown as EventStore;
}

async function benchWalMode(mode: Mode, events: number, directory: string): Promise<WalModeResult> {
  const payloads = Array.from({ length: 1024 }, (_, i) => [noted(i)]);
  // Throughput pass.
  let store = await openStore(mode, `${directory}/${mode}-throughput`);
  const started = performance.now();
  let position = 0;
  for (let i = 0; i < events; i++) {
    position = store.enqueue("stream-1", payloads[i & 1023]).position;
    if ((i & 0xffff) === 0) progress(`wal ${mode}: ${i}/${events}`);
  }
  await store.durable(position);
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  // Latency pass: every enqueue timed; durable acknowledgement per batch.
  store = await openStore(mode, `${directory}/${mode}-latency`);
  const enqueue = newHistogram();
  const durableAck = newHistogram();
  const batch = 1000;
  for (let i = 0; i < events; i += batch) {
    const batchStart = performance.now();
    let last = 0;
    for (let j = i; j < Math.min(events, i + batch); j++) {
      const t = performance.now();
      last = store.enqueue("stream-1", payloads[j & 1023]).position;
      enqueue.recordValue(Math.max(1, Math.round((performance.now() - t) * 1e6)));
    }
    if (mode === "durable") {
      await store.durable(last);
      durableAck.recordValue(Math.round((performance.now() - batchStart) * 1e6));
    }
  }
  await store.durable();
  await store.close();
  endProgress();
  return {
    mode,
    events,
    appendsPerSecond: Math.round(events / seconds),
    enqueue: percentiles(enqueue),
    durableAck: mode === "durable" ? percentiles(durableAck) : undefined,
  };
}

async function benchWal(options: { events: number; syncEvents: number }): Promise<WalModeResult[]> {
  const directory = temporaryDirectory("eventfold-bench-");
  try {
    const results: WalModeResult[] = [];
    for (const mode of ["memory", "async", "durable", "sync"] as const) {
      results.push(await benchWalMode(mode, mode === "sync" ? options.syncEvents : options.events, directory.path));
    }
    return results;
  } finally {
    directory.remove();
  }
}

function walTable(results: WalModeResult[]): string {
  const memory = results.find((r) => r.mode === "memory")!.appendsPerSecond;
  const sync = results.find((r) => r.mode === "sync")!.appendsPerSecond;
  const rows = results.map((r) =>
    `| ${r.mode} | ${r.events.toLocaleString("en")} | ${formatRate(r.appendsPerSecond)} | ${(r.appendsPerSecond / memory).toFixed(2)}x | ${(r.appendsPerSecond / sync).toFixed(1)}x | ${r.enqueue.p50} | ${r.enqueue.p99} | ${r.enqueue.p999} | ${r.enqueue.p9999} | ${r.enqueue.max} | ${r.durableAck ? `${r.durableAck.p50} / ${r.durableAck.p99}` : "-"} |`
  );
  return [
    "| mode | appends | appends/s | vs memory | vs sync | enqueue p50 µs | p99 | p99.9 | p99.99 | max | durable ack p50 / p99 µs (batch of 1,000) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

// A script on every runtime (Node 20 has no import.meta.main).
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const at = args.indexOf("--events");
const events = at >= 0 ? Number(args[at + 1]) : quick ? 5_000 : 1_000_000;
const results = await benchWal({ events, syncEvents: quick ? 200 : Math.min(events, 5_000) });
console.log(`WAL appends, ${runtimeName()}, one event per append (JSON codec)`);
console.log(walTable(results));
