/**
 * eventfold/otel: spans of commands, appends and durability waits, and metrics of group
 * commits, the WAL ring and the durable lag, read back through the OpenTelemetry SDKs'
 * in-memory exporters.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { AggregationTemporality, MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { createCommandHandler, EventStore, ValidationError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { openTelemetry } from "../src/otel/index.ts";
import { bank, BankCommand, bankEvents } from "../examples/bank.ts";
import { temporaryDirectory } from "./support/temp.ts";

/** A metric reader the test collects from when it likes. */
class OnDemandReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

test("spans for handle, append and durable; metrics for group commits, the ring and the durable lag", async () => {
  const spans = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer("test");
  const reader = new OnDemandReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  const meter = new MeterProvider({ readers: [reader] }).getMeter("test");
  const directory = temporaryDirectory();
  const store = new EventStore({
    events: bankEvents,
    storage: fileStorage(directory.path),
    observer: openTelemetry({ tracer, meter, attributes: { "eventfold.store": "bank" } }),
  });
  try {
    await store.open();
    const handler = createCommandHandler({ store, decider: bank, command: BankCommand, streamId: (c) => `account-${c.account}` });
    await handler.handle({ type: "open", account: "a", owner: "Ann" });
    for (let i = 0; i < 20; i++) await handler.handle({ type: "deposit", account: "a", cents: 1 });
    await assert.rejects(handler.handle({ type: "withdraw", account: "a", cents: 1000 }));
    await store.durable();

    const finished = spans.getFinishedSpans();
    const named = (name: string) => finished.filter((span) => span.name === name);
    assert.equal(named("eventfold.handle").length, 22);
    assert.equal(named("eventfold.append").length, 0, "handle's hot path appends by enqueue, not append");
    const failed = named("eventfold.handle").at(-1)!;
    assert.equal(failed.status.code, 2 /* ERROR */);
    assert.match(failed.status.message ?? "", /insufficient funds/);
    assert.equal(failed.attributes["eventfold.stream_id"], "account-a");
    assert.equal(failed.attributes["eventfold.store"], "bank");
    assert.ok(named("eventfold.durable").length >= 21);

    await store.append("account-b", [{ type: "AccountOpened", data: { owner: "Bo" } }]);
    const [append] = spans.getFinishedSpans().filter((span) => span.name === "eventfold.append");
    assert.deepEqual(
      [append.attributes["eventfold.stream_id"], append.attributes["eventfold.events"], append.attributes["eventfold.durability"]],
      ["account-b", 1, "durable"],
    );

    // The writer's report of a group can come just after the durable position it published.
    let metrics = (await reader.collect()).resourceMetrics;
    const metric = (name: string) => metrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
    const histogram = (name: string) => metric(name)!.dataPoints[0]!.value as { count: number; sum: number };
    for (let wait = 0; wait < 200 && histogram("eventfold.storage.batch.records").sum < store.headPosition; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      metrics = (await reader.collect()).resourceMetrics;
    }
    assert.equal(histogram("eventfold.storage.batch.records").sum, store.headPosition, "every record made durable is in one batch");
    assert.ok(histogram("eventfold.storage.batch.bytes").sum > store.headPosition * 40);
    assert.equal(histogram("eventfold.storage.sync.duration").count, histogram("eventfold.storage.batch.records").count);
    assert.equal(metric("eventfold.durable.lag")!.dataPoints[0]!.value, 0);
    assert.equal(metric("eventfold.wal.ring.bytes")!.dataPoints[0]!.value, 0);
  } finally {
    await store.close();
    directory.remove();
  }
});

test("an observer that throws never fails an append; observers and OpenTelemetry options are checked", async () => {
  const directory = temporaryDirectory();
  try {
    const store = new EventStore({
      events: bankEvents,
      storage: fileStorage(directory.path),
      observer: { append: () => { throw new Error("observer bug"); }, synced: () => { throw new Error("observer bug"); } },
    });
    await store.open();
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const result = await store.append("account-a", [{ type: "AccountOpened", data: { owner: "Ann" } }]);
      assert.equal(result.position, 1);
    } finally {
      console.error = original;
    }
    assert.ok(errors.length > 0, "the observer's error was not reported");
    await store.close();
  } finally {
    directory.remove();
  }
  const storage = () => fileStorage("/nonexistent-not-opened");
  assert.throws(() => new EventStore({ events: bankEvents, storage: storage(), observer: { apend: () => () => {} } as never }), ValidationError);
  assert.throws(() => new EventStore({ events: bankEvents, storage: storage(), observer: { append: 1 } as never }), ValidationError);
  assert.throws(() => openTelemetry({ tracer: {} as never }), ValidationError);
  assert.throws(() => openTelemetry({ trace: {} } as never), ValidationError);
});
