import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { defineEvent, EventStore, eventRegistry, memoryStorage, ValidationError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import type { DataCodec } from "../src/wal/codec.ts";
import { crc32c } from "../src/wal/crc32c.ts";
import { encodeUtf8, utf8Length, writeUtf8 } from "../src/core/utf8.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { testSeed } from "./support/seed.ts";
import fc from "fast-check";

test("CRC32C matches the published check values", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  assert.equal(crc32c(bytes("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(bytes("xx123456789yy"), 2, 11), 0xe3069283);
});

test("CRC32C gives the same value on word-aligned and unaligned ranges, in any buffer", () => {
  // Bit-at-a-time reference: slow, obviously right.
  const reference = (bytes: Uint8Array) => {
    let crc = 0xffffffff;
    for (const byte of bytes) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(7), fc.nat(7), fc.nat(7), (data, pad, cutStart, cutEnd) => {
      const holder = new Uint8Array(data.length + pad + 8);
      holder.set(data, pad);
      const view = holder.subarray(pad, pad + data.length);
      const start = Math.min(cutStart, data.length);
      const end = Math.max(start, data.length - cutEnd);
      assert.equal(crc32c(view, start, end), reference(data.subarray(start, end)));
      assert.equal(crc32c(holder, pad + start, pad + end), reference(data.subarray(start, end)));
    }),
    { seed: testSeed(), numRuns: 500 },
  );
});

test("UTF-8 length and writing agree with TextEncoder, ASCII or not", () => {
  for (const text of ["", "plain", "café", "日本語", "emoji 😀 pair", "lone \ud800 surrogate", "é".repeat(100)]) {
    const expected = new TextEncoder().encode(text);
    assert.equal(utf8Length(text), expected.length, text);
    const bytes = new Uint8Array(expected.length + 4);
    writeUtf8(text, bytes, 2, utf8Length(text));
    assert.deepEqual(bytes.subarray(2, 2 + expected.length), expected, text);
    const room = new Uint8Array(3 * text.length + 4);
    assert.equal(encodeUtf8(text, room, 3), expected.length, text);
    assert.deepEqual(room.subarray(3, 3 + expected.length), expected, text);
  }
});

const Point = defineEvent("Point", z.object({ x: z.number().int(), y: z.number().int() }), { trusted: true });
const Label = defineEvent("Label", z.object({ text: z.string() }));
const pointCodec: DataCodec<{ x: number; y: number }> = {
  id: 7,
  type: "Point",
  byteLength: () => 8,
  encode(data, view, offset) {
    view.setInt32(offset, data.x, true);
    view.setInt32(offset + 4, data.y, true);
  },
  decode: (view, offset, length) => {
    if (length !== 8) throw new RangeError(`a Point is 8 bytes, got ${length}`);
    return { x: view.getInt32(offset, true), y: view.getInt32(offset + 4, true) };
  },
};

test("fixed-layout codecs, JSON data and non-ASCII ids and metadata survive a reopen", async () => {
  const directory = temporaryDirectory();
  try {
    const path = join(directory.path, "wal");
    const open = async () => {
      const store = new EventStore({ events: eventRegistry(Point, Label), storage: fileStorage(path, { codecs: [pointCodec] }) });
      await store.open();
      return store;
    };
    const store = await open();
    store.enqueue("plan-ü", [Point.create({ x: -5, y: 1 << 30 }), Label.create({ text: "naïve 😀" }, { by: "zoë" })]);
    await store.durable();
    const before = await store.readAll();
    await store.close();
    const again = await open();
    assert.deepEqual(await again.readAll(), before);
    assert.deepEqual(before.map((e) => e.data), [{ x: -5, y: 1 << 30 }, { text: "naïve 😀" }]);
    assert.equal(before[0].streamId, "plan-ü");
    await again.close();
  } finally {
    directory.remove();
  }
});

test("a trusted event type skips validation on append but create still validates", async () => {
  const store = new EventStore({ events: eventRegistry(Point), storage: memoryStorage() });
  await store.open();
  assert.throws(() => Point.create({ x: 1.5, y: 0 }), ValidationError);
  store.enqueue("p", [{ type: "Point", data: { x: 1, y: 2 } }]);
  assert.equal(store.headPosition, 1);
});

test("data that JSON cannot encode is refused whole with a typed error", async () => {
  const Any = defineEvent("Any", z.any());
  const directory = temporaryDirectory();
  try {
    const store = new EventStore({ events: eventRegistry(Any), storage: fileStorage(join(directory.path, "wal")) });
    await store.open();
    assert.throws(() => store.enqueue("s", [{ type: "Any", data: 1 }, { type: "Any", data: undefined }]), (error: unknown) =>
      error instanceof ValidationError && /not JSON-compatible/.test(error.message));
    assert.equal(store.headPosition, 0);
    store.enqueue("s", [{ type: "Any", data: 2 }]);
    await store.durable();
    assert.deepEqual((await store.readAll()).map((e) => e.data), [2]);
    await store.close();
  } finally {
    directory.remove();
  }
});

test("event ids (ASCII or not, 1 to 255 bytes) are written in the record and survive a reopen; format 2 segments still read", async () => {
  const directory = temporaryDirectory();
  try {
    const path = join(directory.path, "wal");
    const open = async (eventIds?: "given") => {
      const store = new EventStore({ events: eventRegistry(Point, Label), storage: fileStorage(path, { codecs: [pointCodec] }), eventIds });
      await store.open();
      return store;
    };
    // Format 2 (before ids): a log written without ids, its headers set back to version 2.
    let store = await open("given");
    store.enqueue("old", [Label.create({ text: "from format 2" })]);
    await store.durable();
    await store.close();
    for (const name of readdirSync(path).filter((n) => n.endsWith(".wal"))) {
      const bytes = readFileSync(join(path, name));
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      view.setUint32(8, 2, true);
      view.setUint32(44, crc32c(bytes, 0, 44), true);
      writeFileSync(join(path, name), bytes);
    }
    store = await open();
    const ids = ["ü-1", "x".repeat(255), "😀".repeat(63)];
    store.enqueue("plan", [
      { ...Point.create({ x: 1, y: 2 }), id: ids[0] },
      { ...Label.create({ text: "b" }, { by: "zoë" }), id: ids[1] },
      { ...Label.create({ text: "c" }), id: ids[2] },
      Label.create({ text: "generated" }),
    ]);
    await store.durable();
    const before = await store.readAll();
    await store.close();
    const again = await open();
    const after = await again.readAll();
    assert.deepEqual(after, before);
    assert.equal(after[0]!.id, undefined, "the format 2 record has no id");
    assert.deepEqual(after.slice(1, 4).map((e) => e.id), ids);
    assert.match(after[4]!.id!, /^[0-9a-f-]{36}$/);
    await again.close();
  } finally {
    directory.remove();
  }
});
