/**
 * The records a replicator takes from the WAL's ring (WalStorage.keepEncoded/takeEncoded)
 * are byte for byte the ones in the segment files, however the appends, the ring's wraps,
 * the segments' rolls and the taker's lag fall: a small ring fills long before a slow taker
 * takes, so the producer copies out what the tap holds (and never waits for it), and a taker
 * that takes nothing for long has the oldest of those let go (read from the files instead).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { noted } from "./support/fixtures.ts";
import { openWal } from "./support/wal.ts";
import { temporaryDirectory } from "./support/temp.ts";

type Step =
  | { kind: "append"; events: number; size: number }
  | { kind: "burst"; appends: number }
  | { kind: "rearm" }
  | { kind: "take"; share: number; giveBack: boolean }
  | { kind: "again"; back: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("append" as const), events: fc.integer({ min: 1, max: 12 }), size: fc.integer({ min: 1, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("burst" as const), appends: fc.integer({ min: 50, max: 400 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("take" as const), share: fc.double({ min: 0, max: 1, noNaN: true }), giveBack: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("again" as const), back: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("rearm" as const) }) },
);

test("records taken from the ring equal the segment files' bytes, across wraps, rolls, spills and retakes", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 120 }), async (steps) => {
      const dir = temporaryDirectory();
      // The smallest ring and small segments: wraps, roll markers and spills all happen.
      const { store, storage } = await openWal(dir.path, { ringBytes: 4096, segmentBytes: 8192 });
      try {
        storage.keepEncoded();
        let head = 0;
        let taken = 0;
        let n = 0;
        for (const s of steps) {
          if (s.kind === "append") {
            head = store.enqueue(`s${n % 5}`, Array.from({ length: s.events }, () => noted(n++, "x".repeat(s.size)))).position;
            continue;
          }
          if (s.kind === "rearm") {
            // Armed again while the writer may be behind: what it has not written stays its own.
            storage.keepEncoded();
            continue;
          }
          if (s.kind === "burst") {
            // More than the tap keeps when nothing is taken (8 rings): it lets the oldest go.
            for (let i = 0; i < s.appends; i++) head = store.enqueue(`s${n % 5}`, [noted(n++)]).position;
            continue;
          }
          if (head === 0) continue;
          const from = s.kind === "again" ? Math.max(1, taken + 1 - s.back) : taken + 1;
          const to = s.kind === "again" ? Math.min(head, taken + s.back) : from + Math.floor(s.share * (head - from + 1)) - 1;
          if (to < from) continue;
          await store.durable(to);
          const bytes = await storage.takeEncoded(from, to);
          assert.deepEqual(bytes, await storage.readEncoded(from, to), `records ${from}..${to}`);
          if (s.kind === "take" && s.giveBack) storage.giveBackEncoded(bytes);
          taken = to;
        }
        await store.durable(head);
        if (head > taken) assert.deepEqual(await storage.takeEncoded(taken + 1, head), await storage.readEncoded(taken + 1, head));
        // And the producer never wrote over what the writer or the tap still held.
        assert.deepEqual((await storage.read(1, head)).map((record) => (record.data as { n: number }).n), Array.from({ length: n }, (_, i) => i));
      } finally {
        await store.close();
        dir.remove();
      }
    }),
    { numRuns: 100 },
  );
});

test("a buffer given back carries the next records taken, and they are still right", async () => {
  const dir = temporaryDirectory();
  const { store, storage } = await openWal(dir.path);
  try {
    storage.keepEncoded();
    let last = 0;
    for (let n = 0; n < 100; n++) last = store.enqueue("s", [noted(n)]).position;
    await store.durable(last);
    const first = await storage.takeEncoded(1, 50);
    storage.giveBackEncoded(first);
    const second = await storage.takeEncoded(51, 100);
    assert.equal(second.buffer, first.buffer, "the buffer given back was not reused");
    assert.deepEqual(second, await storage.readEncoded(51, 100));
    // A buffer not from the tap (the files' records) is not taken for reuse.
    const fromFiles = await storage.readEncoded(1, 100);
    storage.giveBackEncoded(fromFiles);
    for (let n = 0; n < 10; n++) last = store.enqueue("s", [noted(n)]).position;
    await store.durable(last);
    const third = await storage.takeEncoded(101, last);
    assert.notEqual(third.buffer, fromFiles.buffer);
    assert.deepEqual(storage.decodeEncoded(third).flat().map((record) => record.position), Array.from({ length: 10 }, (_, i) => 101 + i));
  } finally {
    await store.close();
    dir.remove();
  }
});
