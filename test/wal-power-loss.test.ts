/**
 * Power loss at every sync point of a seeded workload (see src/wal/power-loss.ts): after
 * each simulated crash the directory is reopened and must hold every acknowledged-durable
 * event, as a clean prefix of what was appended, with nothing half-written visible.
 *
 * EVENTFOLD_POWER_LOSS_EVENTS sets the workload size (default 160 events; segments of
 * 256 bytes roll every few records, so each tail variant has some 350 sync points).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { EventStore } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { nodeFileSystem } from "../src/adapter/node/file-system.ts";
import type { Snapshot } from "../src/core/snapshots.ts";
import { FileSnapshotStore } from "../src/wal/file-snapshots.ts";
import type { FileSystem } from "../src/wal/file-system.ts";
import { type PowerLoss, withPowerLoss } from "../src/wal/power-loss.ts";
import { appendEnd, noted, type TestEvent, testEvents } from "./support/fixtures.ts";
import { testSeed, withSeed } from "./support/seed.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { sweepSize } from "./support/sweep.ts";

const EVENTS = sweepSize("EVENTFOLD_POWER_LOSS_EVENTS", 160, 30);
/** Crash points run at once (each in its own directory). */
const PARALLEL = 4;

/** Event n's text: lengths vary so records straddle sectors and segments roll often. */
const textOf = (n: number) => `${n}:`.padEnd(5 + ((n * 37) % 90), "abcdefghij");

/**
 * Appends EVENTS events in batches of 1-3, each acknowledged only once durable; `sync`:
 * in sync mode (the writer on this thread), else in durable mode with small groups.
 */
async function runUntilPowerLoss(directory: string, plan: PowerLoss, sync: boolean): Promise<{ acknowledged: number; crashed: boolean }> {
  const store = new EventStore({
    events: testEvents(),
    storage: fileStorage(directory, sync
      ? { durability: "sync", segmentBytes: 256, stallTimeoutMs: 2000, powerLoss: plan }
      : { durability: "durable", maxBatch: 4, segmentBytes: 256, stallTimeoutMs: 2000, powerLoss: plan }),
  });
  await store.open();
  let acknowledged = store.headPosition;
  let crashed = false;
  let n = store.headPosition;
  try {
    while (n < EVENTS) {
      const batch: TestEvent[] = [];
      for (const end = appendEnd(n, EVENTS); n < end;) batch.push(noted(++n, textOf(n)));
      const result = store.enqueue("stream-1", batch);
      await store.durable(result.position);
      acknowledged = result.position;
    }
  } catch {
    crashed = true;
  }
  await store.close().catch(() => {});
  return { acknowledged, crashed };
}

/** Where the workload's appends end (an append is all or nothing, so recovery stops at one of these). */
const appendEnds = new Set<number>([0]);
for (let n = 0; n < EVENTS;) appendEnds.add(n = appendEnd(n, EVENTS));

async function checkRecovered(directory: string, acknowledged: number): Promise<number> {
  const store = new EventStore({ events: testEvents(), storage: fileStorage(directory, { durability: "durable" }) });
  await store.open();
  try {
    const events = await store.readAll();
    assert.ok(events.length >= acknowledged, `acknowledged ${acknowledged} events, recovered ${events.length}`);
    assert.ok(appendEnds.has(events.length), `recovered ${events.length} events: the log ends inside an append`);
    events.forEach((event, i) => {
      assert.equal(event.position, i + 1);
      assert.deepEqual(event.data, { n: i + 1, text: textOf(i + 1) }, `event at position ${i + 1}`);
    });
    return events.length;
  } finally {
    await store.close();
  }
}

/** Power loss at each sync point in turn, with each tail variant. */
async function everySyncPoint(sync: boolean): Promise<void> {
  const seed = testSeed();
  await withSeed(`power loss (${sync ? "sync" : "durable"} mode)`, seed, async () => {
    let crashPoints = 0;
    /** One crash point: true if the workload finished before reaching it. */
    const crashAt = async (atSync: number, tail: PowerLoss["tail"]): Promise<boolean> => {
      const directory = temporaryDirectory("eventfold-power-");
      try {
        const { acknowledged, crashed } = await runUntilPowerLoss(directory.path, { atSync, tail, seed: seed + atSync }, sync);
        const recovered = await checkRecovered(directory.path, acknowledged);
        if (!crashed) {
          assert.equal(recovered, EVENTS);
          return true;
        }
        crashPoints++;
        return false;
      } finally {
        directory.remove();
      }
    };
    for (const tail of ["drop", "torn", "garbage"] as const) {
      for (let first = 1; ; first += PARALLEL) {
        const finished = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => crashAt(first + i, tail)));
        if (finished.some(Boolean)) break; // past the workload's last sync point: every one was covered
      }
    }
    console.log(`power loss (${sync ? "sync" : "durable"} mode): ${crashPoints} crash points checked (seed ${seed})`);
    // Every batch of 1-3 events is synced on its own, so each tail variant has over EVENTS / 3 points.
    assert.ok(crashPoints >= EVENTS, `only ${crashPoints} crash points: the workload no longer syncs often`);
  });
}

test("power loss at every sync point keeps every acknowledged event, as a clean prefix", () => everySyncPoint(false));

test("the same with the writer on the caller's thread (sync mode)", () => everySyncPoint(true));

/** Snapshot n of one stream: its state grows, so a torn or mixed file could not pass for another. */
const snapshotOf = (n: number): Snapshot => ({
  streamId: "book-1",
  streamVersion: n * 100,
  schemaVersion: 1,
  state: { n, orders: Array.from({ length: n * 40 }, (_, i) => [i, n]) },
});
const SNAPSHOTS = 3;

test("power loss at every sync point of snapshot saves leaves the old snapshot or the new one, whole", async () => {
  let crashPoints = 0;
  for (const tail of ["drop", "torn", "garbage"] as const) {
    for (let atSync = 1; ; atSync++) {
      const directory = temporaryDirectory("eventfold-power-");
      try {
        const snapshots = `${directory.path}/snapshots`;
        const store = new FileSnapshotStore(withPowerLoss(nodeFileSystem, { atSync, tail, seed: atSync }), snapshots);
        let saved = 0;
        let crashed = false;
        for (let n = 1; n <= SNAPSHOTS && !crashed; n++) {
          await store.save(snapshotOf(n)).then(() => (saved = n), () => (crashed = true));
        }
        const after = new FileSnapshotStore(nodeFileSystem, snapshots);
        const loaded = await after.load("book-1");
        if (!crashed) {
          assert.deepEqual(loaded, snapshotOf(SNAPSHOTS));
          break; // past the last sync point: every one was covered
        }
        crashPoints++;
        // The save that lost power may or may not have become durable; an earlier one must be there whole.
        const allowed = [saved === 0 ? undefined : snapshotOf(saved), snapshotOf(saved + 1)];
        assert.ok(allowed.some((snapshot) => isDeepStrictEqual(loaded, snapshot)), `sync ${atSync} (${tail}): loaded ${JSON.stringify(loaded)?.slice(0, 80)}, saved ${saved}`);
        // Whatever the cut left behind (a stray temporary file), the next save goes through.
        await after.save(snapshotOf(9));
        assert.deepEqual(await new FileSnapshotStore(nodeFileSystem, snapshots).load("book-1"), snapshotOf(9));
      } finally {
        directory.remove();
      }
    }
  }
  console.log(`snapshot power loss: ${crashPoints} crash points checked`);
  // Each save syncs the file and the directory; the first also the new directory's parent.
  assert.equal(crashPoints, 3 * (2 * SNAPSHOTS + 1));
});

test("creating the snapshot directory syncs its parent, so the first snapshot survives a crash", async () => {
  const directory = temporaryDirectory("eventfold-power-");
  try {
    const synced: string[] = [];
    const watching: FileSystem = { ...nodeFileSystem, syncDirectory: (path) => (synced.push(path), nodeFileSystem.syncDirectory(path)) };
    await new FileSnapshotStore(watching, `${directory.path}/snapshots`).save(snapshotOf(1));
    assert.deepEqual(synced, [directory.path, `${directory.path}/snapshots`]);
  } finally {
    directory.remove();
  }
});
