/**
 * Hooks for tracing and metrics. The core calls them (it imports no telemetry library);
 * `eventfold/otel` implements them with OpenTelemetry. Every hook is optional; a hook that
 * throws is the observer's bug and must not fail an append, so callers guard them.
 */
import type { DurabilityMode } from "./storage.ts";

/** Called when what started ends: without an argument on success, with the error on failure. */
export type Ended = (error?: unknown) => void;

/** A group of records the storage made durable. */
export interface SyncedGroup {
  /** Records in the group. */
  records: number;
  /** Their bytes as written. */
  bytes: number;
  /** How long its fdatasync (or COMMIT) took, ms. */
  syncMs: number;
}

/** The storage's gauges, read when a metrics reader asks. */
export interface StorageStats {
  /** Bytes waiting in the WAL's ring for the writer (0 where there is no ring). */
  ringBytes: number;
  /** The ring's capacity (0 where there is no ring). */
  ringCapacity: number;
}

/** What an observer is told. */
export interface Observer {
  /** A command handler's `handle` starts (its whole run: validate, load, decide, append, acknowledge). */
  command?(info: { streamId: string }): Ended;
  /** An `append` starts (until it is acknowledged per the durability mode). */
  append?(info: { streamId: string; events: number; durability: DurabilityMode }): Ended;
  /** A `durable(position)` wait starts (until the position is durable). */
  durable?(info: { position: number }): Ended;
  /** The storage made a group durable (file WAL: each fdatasync). */
  synced?(group: SyncedGroup): void;
  /** Told once, when the store opens: read the store's gauges from here. */
  attach?(gauges: { head(): number; durable(): number; storage(): StorageStats | undefined }): void;
}

const noop: Ended = () => {};

/** The hooks that time something, and what each is told. */
interface Timed {
  command: { streamId: string };
  append: { streamId: string; events: number; durability: DurabilityMode };
  durable: { position: number };
}

/** Calls `observer[hook]` guarded: an observer that throws is reported, never fails the caller. */
export function observe<K extends keyof Timed>(observer: Observer | undefined, hook: K, info: Timed[K]): Ended {
  const start = observer?.[hook] as ((info: Timed[K]) => Ended) | undefined;
  if (start === undefined) return noop;
  let ended: Ended;
  try {
    ended = start.call(observer, info);
  } catch (error) {
    console.error("eventfold: an observer hook threw:", error);
    return noop;
  }
  return (error?: unknown) => {
    try {
      ended(error);
    } catch (thrown) {
      console.error("eventfold: an observer hook threw:", thrown);
    }
  };
}

/** Tells `observer` of a synced group, guarded. */
export function observeSynced(observer: Observer | undefined, group: SyncedGroup): void {
  try {
    observer?.synced?.(group);
  } catch (error) {
    console.error("eventfold: an observer hook threw:", error);
  }
}
