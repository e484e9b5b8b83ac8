/**
 * The WAL's hot path under load, for the storage and replication benchmarks: one-event
 * appends by `enqueue` (the test events, 64 streams), `batch` at a time, `inFlight` batches
 * awaiting their acknowledgement (`durable`); each batch's latency from its first enqueue
 * to its acknowledgement goes into an HDR histogram.
 */
import type { EventStore } from "../../mod.ts";
import { noted, type TestEvent } from "../../test/support/fixtures.ts";
import { newHistogram, type Percentiles, percentiles, progress } from "./stats.ts";

/** Appends `appends` events to the open `store`; its rate and batch acknowledgement percentiles. */
export async function enqueueBatches(
  store: EventStore<TestEvent>,
  appends: number,
  batch: number,
  inFlight: number,
  label = "enqueue",
): Promise<{ appendsPerSecond: number; ack: Percentiles }> {
  const ack = newHistogram();
  const payloads = Array.from({ length: 1024 }, (_, i) => [noted(i)]);
  const waiting = new Set<Promise<void>>();
  const started = performance.now();
  for (let i = 0; i < appends; i += batch) {
    const t = performance.now();
    let last = 0;
    for (let j = i; j < Math.min(appends, i + batch); j++) last = store.enqueue(`s0-${j % 64}`, payloads[j & 1023]!).position;
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
