/**
 * The WAL's newest records kept as bytes (src/wal/recent-records.ts), which serve the
 * store's buffer for its own appends: checked against a plain model, then through a store.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { EventStore, ValidationError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import type { StoredRecord } from "../src/core/events.ts";
import { CodecTable } from "../src/wal/codec.ts";
import { newPlan, RecordDecoder, RecordEncoder } from "../src/wal/record-format.ts";
import { RecentRecords } from "../src/wal/recent-records.ts";
import { noted, testEvents } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";

const codecs = new CodecTable();
const encoder = new RecordEncoder(codecs);
const scratch = new Uint8Array(1 << 20);
const scratchView = new DataView(scratch.buffer);

const recordAt = (position: number, size: number): StoredRecord => ({
  type: "Noted",
  data: { n: position, text: "x".repeat(size) },
  metadata: undefined,
  schemaVersion: 1,
  streamId: `s-${position % 3}`,
  streamVersion: position,
  position,
  timestamp: 1_700_000_000_000 + position,
});

/** Encodes `record` into the scratch buffer at a varying offset, as the WAL's ring would hold it. */
function keep(recent: RecentRecords, record: StoredRecord): void {
  const plan = newPlan();
  const length = encoder.measure(record, plan);
  const offset = (record.position * 8) % 4096;
  encoder.write(record, plan, scratch, scratchView, offset, length);
  recent.add(record.position, scratch, offset, length);
}

test("recent records: the last `count` appended come back as they were, older ones do not, through growth and failed appends", () => {
  const step = fc.oneof(
    fc.record({ append: fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 12 }) }),
    fc.record({ fail: fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 4 }) }),
  );
  fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.array(step, { maxLength: 60 }), (count, steps) => {
    const recent = new RecentRecords(count, new RecordDecoder(codecs));
    const model = new Map<number, StoredRecord>();
    let head = 0;
    for (const next of steps) {
      const sizes = "append" in next ? next.append : next.fail;
      sizes.forEach((size, i) => {
        const record = recordAt(head + 1 + i, size);
        keep(recent, record);
        if ("append" in next) model.set(record.position, record);
      });
      if ("append" in next) {
        recent.commit();
        head += sizes.length;
      } else recent.rollback(); // the append failed half-way: its positions are taken again
      for (let position = Math.max(1, head - count - 3); position <= head + 2; position++) {
        const expected = position > head || position <= head - count ? undefined : model.get(position);
        assert.deepEqual(recent.get(position), expected, `position ${position} (head ${head}, count ${count})`);
      }
    }
  }), { numRuns: 200 });
});

test("a store on the WAL buffers its own appends by position: reads rebuild them, equal to what was appended", async () => {
  const directory = temporaryDirectory();
  const store = new EventStore({ events: testEvents(), storage: fileStorage(directory.path, { ringBytes: 4096 }), bufferSize: 8 });
  await store.open();
  try {
    const appended = [];
    for (let n = 1; n <= 20; n++) appended.push(...store.enqueue(`s${n % 2}`, [noted(n)]).events);
    // An append refused half-way (larger than the ring: its first records were encoded
    // already) leaves the buffer as it was, and its positions are taken again.
    const tooLarge = Array.from({ length: 60 }, (_, i) => noted(100 + i, "x".repeat(90)));
    assert.throws(() => store.enqueue("s0", tooLarge), (error: unknown) => error instanceof ValidationError && /does not fit/.test(error.message));
    appended.push(...store.enqueue("s1", [noted(21), noted(22)]).events);
    assert.equal(store.buffer.oldestPosition, 15);
    for (const event of appended.slice(-8)) {
      const buffered = store.buffer.get(event.position);
      assert.deepEqual(buffered, event);
      assert.notEqual(buffered, event, "the buffer held the appended object itself");
    }
    assert.equal(store.buffer.get(14), undefined);
    assert.deepEqual(await store.readAll(), appended);
    assert.deepEqual(await store.readStream("s1"), appended.filter((event) => event.streamId === "s1"));
  } finally {
    await store.close();
    directory.remove();
  }
});
