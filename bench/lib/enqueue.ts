/**
 * The WAL's hot path for the storage and replication benchmarks: appends by `enqueue` of
 * the test events (one or more to an append, over 64 streams), either flat out (`batch` at a time, `inFlight`
 * batches awaiting their acknowledgement: throughput, and latency that is mostly queueing)
 * or offered at a fixed rate (latency below saturation, from when each append was due).
 */
import type { EventStore } from "../../mod.ts";
import { noted, type TestEvent } from "../../test/support/fixtures.ts";
import { newHistogram, type Percentiles, percentiles, progress } from "./stats.ts";

const STREAMS = 64;
const payloads = Array.from({ length: 1024 }, (_, i) => [noted(i)]);

/**
 * Makes `appends` appends of `perAppend` events each to the open `store`; the appends' rate
 * and each batch's acknowledgement percentiles.
 */
export async function enqueueBatches(
  store: EventStore<TestEvent>,
  appends: number,
  batch: number,
  inFlight: number,
  label = "enqueue",
  perAppend = 1,
): Promise<{ appendsPerSecond: number; ack: Percentiles }> {
  const events = perAppend === 1 ? payloads : Array.from({ length: 1024 }, (_, i) => Array.from({ length: perAppend }, (_, j) => noted(i * perAppend + j)));
  const ack = newHistogram();
  const waiting = new Set<Promise<void>>();
  const started = performance.now();
  for (let i = 0; i < appends; i += batch) {
    const t = performance.now();
    let last = 0;
    for (let j = i; j < Math.min(appends, i + batch); j++) last = store.enqueue(`s0-${j % STREAMS}`, events[j & 1023]!).position;
    const durable: Promise<void> = store.durable(last).then(() => {
      ack.recordValue(Math.max(1, Math.round((performance.now() - t) * 1e6)));
      waiting.delete(durable);
    });
    waiting.add(durable);
    if (waiting.size >= inFlight) await Promise.race(waiting);
    if (i % (batch * 64) === 0) progress(`${label}: ${i}/${appends}`);
  }
  await Promise.all(waiting);
  const seconds = (performance.now() - started) / 1000;
  return { appendsPerSecond: Math.round(appends / seconds), ack: percentiles(ack) };
}

/**
 * `appends` one-event appends offered at `rate` per second (open loop): every millisecond
 * or so the appends due by then are enqueued, and each one's acknowledgement latency is
 * taken from when it was due, not from when it was sent, so a stall that delays sending
 * counts against it (no coordinated omission). The loop sleeps between ticks, leaving the
 * cores to the WAL writer and, replicated, the NATS servers. The first `warmUp` appends
 * are sent the same way and not recorded (the runtime compiling the path, files and
 * connections warming up).
 */
export async function enqueueAtRate(
  store: EventStore<TestEvent>,
  appends: number,
  rate: number,
  warmUp = 0,
): Promise<{ appendsPerSecond: number; ack: Percentiles }> {
  const ack = newHistogram();
  const interval = 1000 / rate;
  const waiting = new Set<Promise<void>>();
  const started = performance.now();
  let failure: unknown;
  for (let next = 0; next < appends;) {
    const due = Math.min(appends, Math.floor((performance.now() - started) / interval) + 1);
    if (due > next) {
      const first = next;
      let last = 0;
      for (; next < due; next++) last = store.enqueue(`s0-${next % STREAMS}`, payloads[next & 1023]!).position;
      const end = next;
      const durable: Promise<void> = store.durable(last).then(() => {
        const now = performance.now();
        for (let j = Math.max(first, warmUp); j < end; j++) ack.recordValue(Math.max(1, Math.round((now - started - j * interval) * 1e6)));
      }, (error) => (failure ??= error)).finally(() => waiting.delete(durable));
      waiting.add(durable);
    }
    if (failure !== undefined) throw failure;
    await new Promise((resume) => setTimeout(resume, 1));
  }
  await Promise.all(waiting);
  if (failure !== undefined) throw failure;
  const seconds = (performance.now() - started) / 1000;
  return { appendsPerSecond: Math.round(appends / seconds), ack: percentiles(ack) };
}
