/**
 * OpenTelemetry for eventfold: an observer (pass it as the event store's `observer`) that
 * makes spans of commands, appends and durability waits, and metrics of the storage's
 * group commits, its WAL ring and its durable lag. Needs `@opentelemetry/api` (an optional
 * peer dependency) and, to export anything, an OpenTelemetry SDK set up by the app; with
 * none, the API's no-op tracer and meter make this cost next to nothing.
 *
 * Spans start in the active context (the app's request span, if its SDK has a context
 * manager), so an append's span is a sibling of its command's, not a child.
 * @module
 */
import { metrics, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Ended, Observer } from "../core/observer.ts";
import { checkKeys, invalid } from "../core/check.ts";

/** Span and measurement attributes. */
export type Attributes = Record<string, string | number | boolean>;

/** What this uses of an OpenTelemetry Span. */
export interface SpanLike {
  /** Records a failure on the span. */
  recordException(exception: Error | string): void;
  /** Sets the span's status (2: error). */
  setStatus(status: { code: number; message?: string }): void;
  /** Ends the span. */
  end(): void;
}

/** What this uses of an OpenTelemetry Tracer (any Tracer is one). */
export interface TracerLike {
  /** Starts a span in the active context. */
  startSpan(name: string, options?: { attributes?: Attributes }): SpanLike;
}

/** What this uses of an OpenTelemetry Meter (any Meter is one). */
export interface MeterLike {
  /** A histogram instrument. */
  createHistogram(name: string, options?: { description?: string; unit?: string }): { record(value: number, attributes?: Attributes): void };
  /** A gauge read when metrics are collected. */
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): {
    addCallback(callback: (result: { observe(value: number, attributes?: Attributes): void }) => void): void;
  };
}

/** Options of `openTelemetry`. */
export interface OpenTelemetryOptions {
  /** Default: `trace.getTracer("eventfold")` from the global provider. */
  tracer?: TracerLike;
  /** Default: `metrics.getMeter("eventfold")` from the global provider. */
  meter?: MeterLike;
  /** Added to every span and measurement (e.g. `{ "eventfold.store": "orders" }`). */
  attributes?: Attributes;
}

/**
 * An observer reporting to OpenTelemetry.
 *
 * Spans: `eventfold.handle` (a command handler's `handle`), `eventfold.append`,
 * `eventfold.durable` (a `durable(position)` wait); a failure sets the span's status to
 * error and records the exception.
 *
 * Metrics: histograms `eventfold.storage.batch.records`, `eventfold.storage.batch.bytes`
 * and `eventfold.storage.sync.duration` (ms, each fdatasync); gauges `eventfold.wal.ring.bytes`
 * (bytes waiting for the writer) and `eventfold.durable.lag` (events appended, not yet durable).
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): Observer {
  checkKeys("OpenTelemetry options", options, ["tracer", "meter", "attributes"]);
  if (options.tracer !== undefined && typeof options.tracer.startSpan !== "function") invalid("OpenTelemetry options", "tracer", "must be a Tracer");
  if (options.meter !== undefined && typeof options.meter.createHistogram !== "function") invalid("OpenTelemetry options", "meter", "must be a Meter");
  const tracer: TracerLike = options.tracer ?? trace.getTracer("eventfold");
  const meter: MeterLike = options.meter ?? metrics.getMeter("eventfold");
  const common = options.attributes ?? {};
  const batchRecords = meter.createHistogram("eventfold.storage.batch.records", { description: "records per group commit" });
  const batchBytes = meter.createHistogram("eventfold.storage.batch.bytes", { description: "bytes per group commit", unit: "By" });
  const syncTime = meter.createHistogram("eventfold.storage.sync.duration", { description: "time of each fdatasync", unit: "ms" });

  const span = (name: string, attributes: Attributes): Ended => {
    const started = tracer.startSpan(name, { attributes: { ...common, ...attributes } });
    return (error?: unknown) => {
      if (error !== undefined) {
        started.recordException(error instanceof Error ? error : String(error));
        started.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
      }
      started.end();
    };
  };

  return {
    command: ({ streamId }) => span("eventfold.handle", { "eventfold.stream_id": streamId }),
    append: ({ streamId, events, durability }) =>
      span("eventfold.append", { "eventfold.stream_id": streamId, "eventfold.events": events, "eventfold.durability": durability }),
    durable: ({ position }) => span("eventfold.durable", { "eventfold.position": position }),
    synced: ({ records, bytes, syncMs }) => {
      batchRecords.record(records, common);
      batchBytes.record(bytes, common);
      syncTime.record(syncMs, common);
    },
    attach: (gauges) => {
      meter.createObservableGauge("eventfold.wal.ring.bytes", { description: "bytes in the WAL ring not yet taken by the writer", unit: "By" })
        .addCallback((result) => {
          const stats = gauges.storage();
          if (stats !== undefined) result.observe(stats.ringBytes, common);
        });
      meter.createObservableGauge("eventfold.durable.lag", { description: "events appended but not yet durable" })
        .addCallback((result) => result.observe(Math.max(0, gauges.head() - gauges.durable()), common));
    },
  };
}
