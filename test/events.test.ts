import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { defineEvent, EventBuffer, eventRegistry, EventStore, memoryStorage, type RecordedEvent, ValidationError } from "../mod.ts";
import fc from "fast-check";
import { StreamIndex } from "../src/core/stream-index.ts";
import { decodeIndex, encodeIndex } from "../src/core/index-checkpoint.ts";
import { recentId, uuidV7, writeRecentId } from "../src/core/uuid-v7.ts";
import { CodecTable } from "../src/wal/codec.ts";
import { newPlan, RecordDecoder, RecordEncoder } from "../src/wal/record-format.ts";

const stored = (type: string, schemaVersion: number, data: unknown) => ({
  type, data, schemaVersion, metadata: undefined, streamId: "s", streamVersion: 1, position: 7, timestamp: 0,
});

test("defineEvent.create validates data and names the bad field", () => {
  const Moved = defineEvent("Moved", z.object({ to: z.object({ x: z.number().int() }) }));
  assert.deepEqual(Moved.create({ to: { x: 1 } }), { type: "Moved", data: { to: { x: 1 } } });
  assert.throws(() => Moved.create({ to: { x: 1.5 } }), (error: unknown) =>
    error instanceof ValidationError && error.issues[0].path === "data.to.x" && /event "Moved"/.test(error.message));
});

test("upcaster chains run v1 -> v2 -> v3 on read, and a v2 record runs only the last step", () => {
  const calls: number[] = [];
  const Priced = defineEvent("Priced", z.object({ cents: z.number().int(), currency: z.string() }), {
    version: 3,
    upcasters: {
      1: (data) => (calls.push(1), { amount: (data as { price: number }).price * 100 }),
      2: (data) => (calls.push(2), { cents: (data as { amount: number }).amount, currency: "EUR" }),
    },
  });
  const registry = eventRegistry(Priced);
  assert.deepEqual(registry.decode(stored("Priced", 1, { price: 2 })).data, { cents: 200, currency: "EUR" });
  assert.deepEqual(calls, [1, 2]);
  assert.deepEqual(registry.decode(stored("Priced", 2, { amount: 7 })).data, { cents: 7, currency: "EUR" });
  assert.deepEqual(calls, [1, 2, 2]);
  assert.equal(registry.decode(stored("Priced", 3, { cents: 1, currency: "USD" })).schemaVersion, 3);
});

test("a definition missing an upcaster, or a record of an unknown version, is refused", () => {
  assert.throws(() => defineEvent("X", z.object({}), { version: 3, upcasters: { 1: (d) => d } }),
    /upcasters\.2: missing upcaster from version 2 to 3/);
  assert.throws(() => defineEvent("X", z.object({}), { version: 0 }), /version: must be an integer >= 1/);
  const registry = eventRegistry(defineEvent("X", z.object({})));
  assert.throws(() => registry.decode(stored("X", 2, {})), /stored event at position 7.*schemaVersion/);
  assert.throws(() => registry.decode(stored("Y", 1, {})), /unknown event type "Y"/);
  assert.throws(() => eventRegistry(defineEvent("X", z.object({})), defineEvent("X", z.object({}))), /defined twice/);
});

test("registry.validate rejects non-objects and strips nothing it should keep", () => {
  const registry = eventRegistry(defineEvent("A", z.object({ n: z.number() })));
  assert.throws(() => registry.validate(null), /must be an object/);
  assert.throws(() => registry.validate([]), /must be an object/);
  assert.deepEqual(registry.validate({ type: "A", data: { n: 1 }, metadata: { by: "me" } }),
    { type: "A", data: { n: 1 }, metadata: { by: "me" } });
});

test("an append's bad event is named by its index in the append, and nothing is appended", async () => {
  const A = defineEvent("A", z.object({ n: z.number().int() }));
  const store = new EventStore({ events: eventRegistry(A), storage: memoryStorage() });
  await store.open();
  const good = { type: "A" as const, data: { n: 1 } };
  const refused = (events: unknown[], pattern: RegExp) =>
    assert.throws(() => store.enqueue("s", events as (typeof good)[]), (error: unknown) => error instanceof ValidationError && pattern.test(error.message));
  refused([good, 7], /invalid events\[1\]: must be an object/);
  refused([good, { type: "B", data: {} }], /events\[1\]\.type: unknown event type "B"/);
  refused([good, good, { type: "A", data: { n: 0.5 } }], /invalid events\[2\] "A": data\.n:/);
  refused([{ ...good, metadata: [] }], /invalid events\[0\]: metadata: must be an object/);
  refused([good, { ...good, id: "" }], /invalid events\[1\]: id: must be a string of 1 to 255 bytes/);
  assert.throws(() => eventRegistry(A).validate({ type: "A", data: { n: "x" } }, "the command's event"), /invalid the command's event "A": data\.n:/);
  assert.equal(store.headPosition, 0);
  await store.close();
});

test("records appended, upcast and decoded from the WAL are plain objects, their keys in one order", () => {
  const Noted = defineEvent("Noted", z.object({ text: z.string() }), { version: 2, upcasters: { 1: (data) => ({ text: String((data as { t: unknown }).t) }) } });
  const registry = eventRegistry(Noted);
  const codecs = new CodecTable();
  const encoder = new RecordEncoder(codecs);
  const decoder = new RecordDecoder(codecs);
  const plan = newPlan();
  const keys = ["type", "data", "metadata", "schemaVersion", "streamId", "streamVersion", "position", "timestamp"];
  for (const id of [undefined, "note-1"]) {
    const appended = registry.toRecord({ type: "Noted", data: { text: "hi" }, id }, 0, "notes", 1, 7, 1_764_000_000_000);
    const bytes = new Uint8Array(256);
    const view = new DataView(bytes.buffer);
    encoder.write(appended, plan, bytes, view, 0, encoder.measure(appended, plan));
    const upcast = registry.decode({ ...appended, schemaVersion: 1, data: { t: "hi" } });
    for (const [what, record] of [["appended", appended], ["decoded from the WAL", decoder.decode(bytes, view, 0)], ["upcast", upcast]] as const) {
      assert.equal(Object.getPrototypeOf(record), Object.prototype, what);
      assert.deepEqual(Object.keys(record), id === undefined ? keys : [...keys, "id"], what);
      assert.deepEqual(record, { type: "Noted", data: { text: "hi" }, metadata: undefined, schemaVersion: 2, streamId: "notes", streamVersion: 1, position: 7, timestamp: 1_764_000_000_000, ...(id && { id }) }, what);
    }
  }
});

const recorded = (position: number) => ({ position } as unknown as RecordedEvent);

test("the event buffer keeps the newest events across wrap-around", () => {
  const buffer = new EventBuffer(3);
  assert.equal(buffer.oldestPosition, 1);
  assert.equal(buffer.get(1), undefined);
  for (let p = 1; p <= 7; p++) buffer.push(recorded(p));
  assert.equal(buffer.size, 3);
  assert.equal(buffer.oldestPosition, 5);
  assert.equal(buffer.newestPosition, 7);
  assert.deepEqual([4, 5, 6, 7, 8].map((p) => buffer.get(p)?.position), [undefined, 5, 6, 7, undefined]);
  assert.throws(() => buffer.push(recorded(9)), /expected position 8, got 9/);
  assert.throws(() => new EventBuffer(0), ValidationError);
});

test("an event buffer reads held events from their keeper, objects before them from itself", () => {
  // A keeper that has let go of everything before `kept`, like a ring that wrapped.
  let kept = 1;
  const reads: number[] = [];
  const buffer = new EventBuffer(4, {
    oldest: () => kept,
    read: (position) => {
      reads.push(position);
      return position >= kept ? { ...recorded(position), held: true } as unknown as RecordedEvent : undefined;
    },
  });
  buffer.push(recorded(1));
  buffer.push(recorded(2));
  buffer.pushHeld(3);
  buffer.pushHeld(4);
  assert.equal(buffer.oldestPosition, 1);
  assert.deepEqual([1, 2, 3, 4].map((p) => (buffer.get(p) as { held?: boolean }).held ?? false), [false, false, true, true]);
  assert.deepEqual(reads, [3, 4], "objects are not asked of the keeper");
  assert.throws(() => buffer.push(recorded(5)), /holds its events elsewhere since position 3/);
  buffer.pushHeld(5);
  assert.equal(buffer.oldestPosition, 2);
  // The keeper let go of 3: neither it nor the objects before it are in the window any more.
  kept = 4;
  assert.equal(buffer.oldestPosition, 4);
  assert.equal(buffer.size, 2);
  assert.equal(buffer.get(2), undefined);
  assert.equal(buffer.get(3), undefined);
  assert.equal(buffer.get(4)?.position, 4);
  assert.throws(() => new EventBuffer(2).pushHeld(1), /has no held records/);
});

test("the default event buffer holds 10,000 events", () => {
  const buffer = new EventBuffer();
  for (let p = 1; p <= 10_001; p++) buffer.push(recorded(p));
  assert.equal(buffer.capacity, 10_000);
  assert.equal(buffer.get(1), undefined);
  assert.equal(buffer.get(2)?.position, 2);
});

test("the stream index maps versions to positions across interleaved runs", () => {
  const index = new StreamIndex();
  index.add("a", 1, 3); // a: 1,2,3 at 1..3
  index.add("b", 4, 1);
  index.add("a", 5, 2); // a: 4,5 at 5..6
  index.add("a", 7, 1); // extends the run: a: 6 at 7
  assert.equal(index.version("a"), 6);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((v) => index.positionOf("a", v)), [1, 2, 3, 5, 6, 7]);
  assert.equal(index.positionOf("b", 1), 4);
  assert.throws(() => index.positionOf("a", 7), RangeError);
  assert.equal(index.version("none"), 0);
});

test("the stream index holds thousands of runs per stream, and a checkpoint of it restores to the same index that grows on", () => {
  // Streams written in turn start a run with nearly every append: past 1,024 runs a stream's
  // runs take more than one chunk, and a restored stream's chunks are views of the checkpoint's.
  const appends = fc.array(
    fc.record({ stream: fc.integer({ min: 0, max: 2 }), count: fc.integer({ min: 1, max: 3 }) }),
    { minLength: 3000, maxLength: 9000, size: "max" },
  );
  fc.assert(
    fc.property(appends, fc.nat(), (list, cut) => {
      const split = list.length - (cut % (list.length + 1)); // restored late, as often as not with streams of many chunks
      let index = new StreamIndex();
      const model = new Map<string, number[]>(); // each stream's positions, by version - 1
      let position = 0;
      list.forEach(({ stream, count }, i) => {
        if (i === split) {
          const restored = new StreamIndex();
          for (
            const [streamId, version, pairs, runs] of decodeIndex(encodeIndex(position, index, [])).streams
          ) restored.restore(streamId, version, pairs, runs);
          index = restored;
        }
        const id = `s${stream}`;
        index.add(id, position + 1, count);
        for (let k = 0; k < count; k++) (model.get(id) ?? model.set(id, []).get(id)!).push(++position);
      });
      for (const [id, positions] of model) {
        assert.equal(index.version(id), positions.length);
        positions.forEach((expected, v) => assert.equal(index.positionOf(id, v + 1), expected));
        const from = 1 + (cut % positions.length);
        const fromRuns = [...index.runs(id, from, Infinity)].flatMap(([version, first, count]) =>
          Array.from({ length: count }, (_, k) => [version + k, first + k])
        );
        assert.deepEqual(fromRuns, positions.slice(from - 1).map((p, k) => [from + k, p]));
      }
    }),
    { numRuns: 20, seed: 1606, endOnFailure: true }, // shrinking thousands of appends would take minutes
  );
});

test("generated ids are distinct UUIDv7s carrying their millisecond, across blocks and milliseconds", () => {
  const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const seen = new Set<string>();
  // 1,000 ids in each of three milliseconds (blocks of 256 roll over inside each), then a clock set back.
  for (const ms of [1_764_000_000_000, 1_764_000_000_001, 1_764_000_000_002, 1_764_000_000_000]) {
    for (let i = 0; i < 1000; i++) {
      const id = uuidV7(ms);
      assert.match(id, shape);
      assert.equal(parseInt(id.slice(0, 13).replace("-", ""), 16), ms);
      assert.ok(!seen.has(id), `${id} given twice`);
      seen.add(id);
    }
  }
  assert.equal(uuidV7(0).slice(0, 14), "00000000-0000-");
  assert.equal(uuidV7(2 ** 48 - 1).slice(0, 14), "ffffffff-ffff-");
  // Each block draws fresh random bits (600 blocks: the random bytes are drawn a few kilobytes at a time).
  const randomParts = new Set<string>();
  for (let ms = 0; ms < 600; ms++) {
    const id = uuidV7(1_765_000_000_000 + ms);
    assert.match(id, shape);
    randomParts.add(id.slice(15, 34));
  }
  assert.equal(randomParts.size, 600);
});

test("the generator gives the bytes of the ids it made lately, matched by identity and age, and of no other string", () => {
  const utf8 = new TextEncoder();
  // 1,500 ids over three milliseconds: blocks of 256 roll over inside each.
  const ids = Array.from({ length: 1500 }, (_, i) => uuidV7(1_764_000_000_000 + Math.floor(i / 500)));
  const bytes = new Uint8Array(40);
  for (let back = 1; back <= 1024; back++) {
    const id = ids[ids.length - back]!;
    const slot = recentId(id, back);
    assert.ok(slot >= 0, `${id}, made ${back} ids ago`);
    bytes.fill(0);
    writeRecentId(slot, bytes, 2);
    assert.deepEqual(bytes.subarray(2, 38), utf8.encode(id));
  }
  const latest = ids.at(-1)!;
  // The same text made elsewhere (a copy, not the generator's string) is the same bytes: found too.
  assert.ok(recentId(JSON.parse(JSON.stringify(latest)), 1) >= 0);
  // Not at that age, too old, or another string.
  assert.equal(recentId(latest, 2), -1);
  assert.equal(recentId(latest, 0), -1);
  assert.equal(recentId(ids[0]!, 1500), -1);
  for (const other of [latest.slice(0, 35) + "x", latest.slice(0, 35) + (latest.endsWith("0") ? "1" : "0"), latest.slice(0, 35), latest + "0", "x"]) {
    assert.equal(recentId(other, 1), -1, other);
  }
  // One more id: the latest is now made 2 ids ago.
  uuidV7(1_764_000_000_003);
  assert.equal(recentId(latest, 1), -1);
  assert.ok(recentId(latest, 2) >= 0);
});
