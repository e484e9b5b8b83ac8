/**
 * Injected I/O errors, swept: EIO and ENOSPC at the nth open, write, fdatasync, rename and
 * directory sync (n = 1..8, in the main thread and in the writer, on its own thread or on
 * the caller's in `sync` mode), once (transient) or
 * from then on (persistent). Whatever fails, the log fails stop — the failing append and
 * every later one are rejected, nothing is acknowledged after the error — and reopening
 * without faults recovers every acknowledged event as a clean prefix.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore, StorageError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import type { Fault, FaultOperation } from "../src/wal/faults.ts";
import { appendEnd, noted, type TestEvent, testEvents } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { sweepSize } from "./support/sweep.ts";

const EVENTS = 40;
/** Each fault at the 1st..NTH call of its operation. */
const NTH = sweepSize("EVENTFOLD_IO_ERROR_NTH", 8, 3);
const textOf = (n: number) => `${n}:`.padEnd(10 + ((n * 29) % 90), "xyz");

/** Appends EVENTS events in batches of 1-3 until the log fails; returns what was acknowledged. */
async function runWithFault(directory: string, fault: Fault, sync: boolean): Promise<{ acknowledged: number; failed: boolean }> {
  const store = new EventStore({
    events: testEvents(),
    storage: fileStorage(directory, sync
      ? { durability: "sync", segmentBytes: 512, faults: [fault] }
      : { durability: "durable", maxBatch: 2, segmentBytes: 512, faults: [fault] }),
  });
  try {
    await store.open();
  } catch (error) {
    assert.ok(error instanceof StorageError || (error as { code?: string }).code === fault.code, `open threw ${error}`);
    return { acknowledged: 0, failed: true };
  }
  let acknowledged = 0;
  let n = 0;
  let failure: unknown;
  while (n < EVENTS) {
    const batch: TestEvent[] = [];
    for (const end = appendEnd(n, EVENTS); n < end;) batch.push(noted(++n, textOf(n)));
    try {
      const { position } = store.enqueue("s", batch);
      await store.durable(position);
      acknowledged = position;
    } catch (error) {
      failure = error;
      break;
    }
  }
  if (failure !== undefined) {
    assert.ok(failure instanceof StorageError, `append failed with ${failure}`);
    // Fail-stop: nothing more is taken, and nothing more becomes durable.
    assert.throws(() => store.enqueue("s", [noted(++n, textOf(n))]), StorageError);
    // What a completed fdatasync covered before the error stays durable (and may still be
    // acknowledged); nothing past it ever becomes durable.
    const durable = store.durablePosition;
    await assert.rejects(store.durable(durable + 1), StorageError);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(store.durablePosition, durable, "the log became more durable after failing");
  }
  await store.close().catch(() => {});
  return { acknowledged, failed: failure !== undefined };
}

async function recovered(directory: string): Promise<number> {
  const store = new EventStore({ events: testEvents(), storage: fileStorage(directory, { durability: "durable" }) });
  await store.open();
  try {
    const events = await store.readAll();
    events.forEach((event, i) => assert.deepEqual(event.data, { n: i + 1, text: textOf(i + 1) }, `position ${i + 1}`));
    return events.length;
  } finally {
    await store.close();
  }
}

/** The sweep, with the writer on its thread (`durable`) or on the caller's (`sync`). */
async function sweep(sync: boolean): Promise<void> {
  const operations: FaultOperation[] = ["open", "write", "resize", "syncData", "rename", "syncDirectory"];
  let runs = 0;
  let failures = 0;
  for (const operation of operations) {
    for (const code of ["EIO", "ENOSPC"] as const) {
      for (const persistent of [false, true]) {
        for (let nth = 1; nth <= NTH; nth++) {
          const directory = temporaryDirectory("eventfold-ioerror-");
          try {
            const fault: Fault = { operation, nth, code, persistent };
            const { acknowledged, failed } = await runWithFault(directory.path, fault, sync);
            const count = await recovered(directory.path);
            assert.ok(count >= acknowledged, `${JSON.stringify(fault)}: acknowledged ${acknowledged}, recovered ${count}`);
            if (!failed) assert.equal(count, EVENTS, `${JSON.stringify(fault)}: no failure, but events are missing`);
            runs++;
            if (failed) failures++;
          } finally {
            directory.remove();
          }
        }
      }
    }
  }
  console.log(`I/O errors (${sync ? "sync" : "durable"}): ${runs} runs, ${failures} of them hit the fault and failed stop`);
  assert.ok(failures >= runs / 2, `only ${failures} of ${runs} runs reached their fault: the sweep no longer exercises the log`);
}

test("EIO / ENOSPC at the nth open, write, ftruncate, fdatasync, rename, directory sync: fail-stop, then a clean recovery", () => sweep(false));

test("the same faults with the writer on the caller's thread (sync mode): fail-stop, then a clean recovery", () => sweep(true));
