import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import process from "node:process";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { defineEvent, EventStore, eventRegistry, memoryStorage, type StoredRecord, ValidationError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import type { DataCodec } from "../src/wal/codec.ts";
import { checksummedBuffer, crc32c, sealRecords, verifiedRecordsEnd } from "../src/wal/crc32c.ts";
import { IdDecoder } from "../src/wal/id-decoder.ts";
import { CodecTable } from "../src/wal/codec.ts";
import { newPlan, paddedLength, RecordDecoder, RecordEncoder } from "../src/wal/record-format.ts";
import { orderBookCodecs } from "../src/orderbook/index.ts";
import { CONTROL_BYTES, DURABLE_OFFSET_BYTES, durableReader } from "../src/wal/ring.ts";
import { uuidV7 } from "../src/core/uuid-v7.ts";
import { encodeUtf8, utf8Length, writeUtf8 } from "../src/core/utf8.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { testSeed } from "./support/seed.ts";
import fc from "fast-check";

const runtimeName = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

/** `data` copied into a checksummed buffer (crc32c in WebAssembly), at `pad`. */
function checksummed(data: Uint8Array, pad = 0): Uint8Array {
  const buffer = checksummedBuffer(data.length + pad + 8);
  buffer.set(data, pad);
  return buffer;
}

test("CRC32C matches the published check values, in JavaScript and in WebAssembly", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  for (const inBuffer of [(data: Uint8Array) => data, (data: Uint8Array) => checksummed(data).subarray(0, data.length)]) {
    assert.equal(crc32c(inBuffer(bytes("123456789"))), 0xe3069283);
    assert.equal(crc32c(inBuffer(new Uint8Array(32))), 0x8a9136aa);
    assert.equal(crc32c(inBuffer(new Uint8Array(32).fill(0xff))), 0x62a8ab43);
    assert.equal(crc32c(inBuffer(Uint8Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32c(inBuffer(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
    assert.equal(crc32c(inBuffer(bytes("xx123456789yy")), 2, 11), 0xe3069283);
  }
});

test("one call finds where the records whose checksums hold end: a bad checksum, a record cut short, a length below the header, a count", () => {
  // Frames as docs/wal-format.md lays them: CRC32C of bytes 4.. at 0, the length at 4, padded to 8.
  const lengths = [40, 61, 104, 45];
  const starts = lengths.map((_, i) => lengths.slice(0, i).reduce((sum, length) => sum + ((length + 7) & ~7), 8));
  const end = starts[3] + 48;
  const frames = () => {
    const bytes = checksummedBuffer(end + 8).subarray(0, end);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    lengths.forEach((length, i) => {
      for (let b = 8; b < length; b++) bytes[starts[i] + b] = (i * 31 + b) & 0xff;
      view.setUint32(starts[i] + 4, length, true);
      view.setUint32(starts[i], crc32c(bytes, starts[i] + 4, starts[i] + length), true);
    });
    return { bytes, view };
  };
  if (typeof WebAssembly !== "object") return; // nothing is checked ahead: callers check each record
  const { bytes } = frames();
  assert.equal(verifiedRecordsEnd(bytes, 8, end), end);
  assert.equal(verifiedRecordsEnd(bytes, 8, end, 2), starts[2]);
  assert.equal(verifiedRecordsEnd(bytes, starts[1], end, 1), starts[2]);
  assert.equal(verifiedRecordsEnd(bytes, 8, starts[3] + 44), starts[3], "the last record runs past the end");
  assert.equal(verifiedRecordsEnd(bytes.subarray(starts[1]), 0, end - starts[1]), end - starts[1], "a view into the buffer");
  bytes[starts[2] + 50] ^= 1;
  assert.equal(verifiedRecordsEnd(bytes, 8, end), starts[2], "a flipped bit");
  const short = frames();
  short.view.setUint32(starts[1] + 4, 39, true);
  assert.equal(verifiedRecordsEnd(short.bytes, 8, end), starts[1], "shorter than a header");
  // A buffer that is not a checksummed one: nothing checked ahead.
  assert.equal(verifiedRecordsEnd(new Uint8Array(bytes), 8, end), 8);
});

test("sealing a span stores each record's CRC32C in it and returns the last, in WebAssembly and in JavaScript, and stops at a length that is not a record's", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 40, maxLength: 300 }), { minLength: 0, maxLength: 12 }), fc.nat(3), (bodies, at) => {
      // Records back to back from 8-aligned `start`, each its length at 4 and zero padding.
      const start = 8 * at;
      const end = bodies.reduce((offset, body) => offset + ((body.length + 7) & ~7), start);
      const lay = (bytes: Uint8Array) => {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const starts: number[] = [];
        let offset = start;
        for (const body of bodies) {
          bytes.set(body, offset);
          view.setUint32(offset, 0, true);
          view.setUint32(offset + 4, body.length, true);
          starts.push(offset);
          offset += (body.length + 7) & ~7;
        }
        return { view, starts };
      };
      for (const bytes of [checksummedBuffer(end + 16), new Uint8Array(end + 16)]) {
        const { view, starts } = lay(bytes);
        const expected = starts.map((offset) => crc32c(bytes, offset + 4, offset + view.getUint32(offset + 4, true)));
        assert.equal(sealRecords(bytes, start, end), expected.at(-1) ?? 0);
        assert.deepEqual(starts.map((offset) => view.getUint32(offset, true)), expected);
      }
    }),
    { seed: testSeed(), numRuns: 200 },
  );
  for (const bytes of [checksummedBuffer(256), new Uint8Array(256)]) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view.setUint32(4, 40, true);
    view.setUint32(44, 4, true); // not a record: sealing stops before it
    view.setUint32(84, 40, true);
    assert.equal(sealRecords(bytes, 0, 128), crc32c(bytes, 4, 40));
    assert.equal(view.getUint32(0, true), crc32c(bytes, 4, 40));
    assert.equal(view.getUint32(80, true), 0, "a record after the bad length is left unsealed");
    view.setUint32(44, 100, true); // runs past the end
    assert.equal(sealRecords(bytes, 40, 128), 0);
  }
});

test("the durable position is read back from its shared cell exactly, past 2^32 and up to 2^53 - 1", () => {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const cell = new BigInt64Array(control, DURABLE_OFFSET_BYTES, 1); // as the writer stores it
  const read = durableReader(control);
  for (
    const position of [0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 3 * 2 ** 32 + 12345, 2 ** 53 - 1]
  ) {
    Atomics.store(cell, 0, BigInt(position));
    assert.equal(read(), position);
  }
});

test("a checksummed buffer is zero-filled, of the length asked, and checksummed in WebAssembly where it runs", () => {
  const buffer = checksummedBuffer(100_000);
  assert.equal(buffer.length, 100_000);
  assert.ok(buffer.every((byte) => byte === 0));
  // The module's memory holds the tables before the buffer; a plain array where WebAssembly cannot run.
  assert.equal(buffer.byteOffset, typeof WebAssembly === "object" ? 16_384 : 0);
});

test("CRC32C of a range outside the bytes is a RangeError, not a checksum of whatever lies beyond", () => {
  for (const bytes of [new Uint8Array(16), checksummedBuffer(16)]) {
    assert.throws(() => crc32c(bytes, -1, 8), RangeError);
    assert.throws(() => crc32c(bytes, 0, 17), RangeError);
    assert.throws(() => crc32c(bytes.subarray(0, 8), 0, 9), RangeError);
    assert.throws(() => crc32c(bytes, 9, 8), RangeError);
  }
});

test("the WebAssembly module embedded is what src/wal/crc32c.wat assembles to", { skip: runtimeName !== "node" && "checked by the Node job" }, () => {
  const root = fileURLToPath(new URL("../../../", import.meta.url)); // build/node/test/ -> the repository
  const check = spawnSync(process.execPath, [join(root, "scripts", "build-wasm.mjs"), "--check"], { encoding: "utf8" });
  assert.equal(check.status, 0, check.stderr);
});

test("where WebAssembly cannot run (node --jitless), CRC32C falls back to JavaScript with the same values", { skip: runtimeName !== "node" && "a Node flag" }, () => {
  const module = new URL("../src/wal/crc32c.js", import.meta.url).href;
  const script = `const { checksummedBuffer, crc32c, sealRecords } = await import(${JSON.stringify(module)});
    const buffer = checksummedBuffer(9); buffer.set(new TextEncoder().encode("123456789"));
    const record = checksummedBuffer(48); new DataView(record.buffer).setUint32(4, 44, true); record.fill(7, 8, 44);
    console.log(typeof WebAssembly, buffer.byteOffset, crc32c(buffer).toString(16), sealRecords(record, 0, 48) === crc32c(record, 4, 44));`;
  const run = spawnSync(process.execPath, ["--jitless", "--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), "undefined 0 e3069283 true");
});

test("CRC32C gives the same value on word-aligned and unaligned ranges, in any buffer, in JavaScript and in WebAssembly", () => {
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
      const expected = reference(data.subarray(start, end));
      assert.equal(crc32c(view, start, end), expected);
      assert.equal(crc32c(holder, pad + start, pad + end), expected);
      // In WebAssembly: the whole buffer and a view of part of it.
      const wasm = checksummed(data, pad);
      assert.equal(crc32c(wasm, pad + start, pad + end), expected);
      assert.equal(crc32c(wasm.subarray(pad, pad + data.length), start, end), expected);
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

test("records written from a stream's layout of their type are byte for byte those written field by field, padding included", () => {
  // A buffer whose start is not on a 32-bit word has no words view: its records are
  // written field by field (RecordEncoder.write), the reference here.
  const codecs = new CodecTable(orderBookCodecs);
  const streams = ["book-XBT-USD", "book-ETH-USD", "flux-ß-ünïcode", "s"];
  const record = fc.record({
    stream: fc.nat(streams.length - 1),
    sample: fc.nat(3),
    schemaVersion: fc.integer({ min: 1, max: 3 }),
    streamVersion: fc.integer({ min: 1, max: 0xffff_ffff }),
    position: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    text: fc.string({ maxLength: 30 }),
    id: fc.option(fc.constantFrom("6f1c2a4e-0b7d-4c55-9e21-3f0d8a9b7c11", "ï"), { freq: 5 }),
    metadata: fc.option(fc.constant({ correlationId: "c-1" }), { freq: 5 }),
    more: fc.boolean(),
  });
  const toRecord = (r: typeof record extends fc.Arbitrary<infer R> ? R : never): StoredRecord => {
    const data = [
      { price: r.position % 1_000_000, quantity: 7, makerOrderId: 1, makerAccount: 2, takerOrderId: 3, takerAccount: 4, takerSide: "sell" },
      { orderId: 9, account: 3, remaining: 5, reason: "requested" },
      { text: r.text },
      {},
    ][r.sample];
    const type = ["TradeExecuted", "OrderCancelled", "Noted", "E"][r.sample];
    const stored: StoredRecord = {
      type, data, metadata: r.metadata ?? undefined, schemaVersion: r.schemaVersion, streamId: streams[r.stream],
      streamVersion: r.streamVersion, position: r.position, timestamp: r.timestamp,
    };
    if (r.id !== null) stored.id = r.id;
    return stored;
  };
  /** The records written one after another from byte `start` of a buffer filled with 0xee (padding must come out 0). */
  const written = (records: StoredRecord[], mores: boolean[], start: number) => {
    const encoder = new RecordEncoder(codecs);
    const plan = newPlan();
    const buffer = new Uint8Array(start + records.length * 400).fill(0xee);
    const bytes = buffer.subarray(start);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    records.forEach((r, i) => {
      const length = encoder.measure(r, plan);
      encoder.write(r, plan, bytes, view, at, length, mores[i]);
      at += paddedLength(length);
    });
    return bytes.slice(0, at);
  };
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 40 }), (generated) => {
      const records = generated.map(toRecord);
      const mores = generated.map((r) => r.more);
      const laidOut = written(records, mores, 0);
      assert.deepEqual(laidOut, written(records, mores, 1));
      const decoder = new RecordDecoder(codecs);
      const view = new DataView(laidOut.buffer);
      let at = 0;
      for (const r of records) {
        assert.deepEqual(decoder.decode(laidOut, view, at), r);
        at += paddedLength(view.getUint32(at + 4, true));
      }
    }),
    { seed: testSeed(), numRuns: 300 },
  );
});

test("an encoder that has met more than 10,000 event types (and let them go) still writes each record's own stream and type", () => {
  const codecs = new CodecTable(orderBookCodecs);
  const encoder = new RecordEncoder(codecs);
  const decoder = new RecordDecoder(codecs);
  const plan = newPlan();
  const bytes = new Uint8Array(1024);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 10_050; i++) {
    // Interleaved: a type met once, then one met again and again, in two streams.
    for (const [type, streamId] of [[`T${i}`, "one"], ["Noted", i % 2 ? "one" : "other"]]) {
      const record: StoredRecord = { type, data: { i }, metadata: undefined, schemaVersion: 1, streamId, streamVersion: i + 1, position: i + 1, timestamp: 0 };
      const length = encoder.measure(record, plan);
      encoder.write(record, plan, bytes, view, 0, length);
      const read = decoder.decode(bytes, view, 0);
      if (read.type !== type || read.streamId !== streamId || (read.data as { i: number }).i !== i) {
        assert.fail(`record ${i}: wrote ${type} in ${streamId}, read ${read.type} in ${read.streamId}`);
      }
    }
  }
});

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

test("readEach visits what read gives, in one lent record (and one data object per codec that refills), also while a read runs inside it", async () => {
  const refilling: DataCodec<{ x: number; y: number }> = {
    ...pointCodec,
    decodeInto(view, offset, length, data) {
      if (length !== 8) throw new RangeError(`a Point is 8 bytes, got ${length}`);
      data.x = view.getInt32(offset, true);
      data.y = view.getInt32(offset + 4, true);
      return data;
    },
  };
  for (const codec of [pointCodec, refilling]) {
    const directory = temporaryDirectory();
    const store = new EventStore({ events: eventRegistry(Point, Label), storage: fileStorage(join(directory.path, "wal"), { codecs: [codec] }) });
    try {
      await store.open();
      for (let i = 0; i < 300; i++) {
        store.enqueue(i % 2 ? "a" : "b", [Point.create({ x: i, y: -i }), i % 3 ? Label.create({ text: `l${i}` }, { i }) : { ...Label.create({ text: "x" }), id: `id-${i}` }]);
      }
      await store.durable();
      const storage = store.storage;
      const copy = (r: StoredRecord) => ({ ...r, data: { ...r.data as object }, id: r.id });
      const expected = (await storage.read(1, 600)).map(copy);
      const visited: ReturnType<typeof copy>[] = [];
      const records = new Set<unknown>();
      const points = new Set<unknown>();
      let inside: Promise<StoredRecord[]> | undefined;
      await storage.readEach!(1, 600, (record) => {
        visited.push(copy(record));
        records.add(record);
        if (record.type === "Point") points.add(record.data);
        // Another read started while this one decodes from the read window (it must not
        // read other bytes into the window before this walk ends: records of another index entry).
        if (record.position === 10) inside = storage.read(500, 510);
      });
      assert.deepEqual(visited, expected, codec === pointCodec ? "plain codec" : "refilling codec");
      assert.equal(records.size, 1, "one record object, refilled");
      assert.equal(points.size, codec === refilling ? 1 : 300, "one data object where the codec refills");
      assert.deepEqual((await inside!).map(copy), expected.slice(499, 510));
      const stop = new Error("stop");
      await assert.rejects(storage.readEach!(1, 600, () => {
        throw stop;
      }), (error: unknown) => error === stop);
      assert.deepEqual((await storage.read(1, 600)).map(copy), expected);
    } finally {
      await store.close();
      directory.remove();
    }
  }
});

test("a codec id moved to another event type reads each record with the type it was written with", async () => {
  // Version 1 of an app gave codec id 7 to Point; version 2 gives it to Pixel (the same layout) and Point to JSON.
  const Pixel = defineEvent("Pixel", z.object({ x: z.number().int(), y: z.number().int() }));
  const pixelCodec = { ...pointCodec, type: "Pixel" } as DataCodec<{ x: number; y: number }>;
  const directory = temporaryDirectory();
  try {
    const path = join(directory.path, "wal");
    const v1 = new EventStore({ events: eventRegistry(Point), storage: fileStorage(path, { codecs: [pointCodec] }) });
    await v1.open();
    v1.enqueue("p", [Point.create({ x: 1, y: 2 }), Point.create({ x: 3, y: 4 })]);
    await v1.close();
    const v2 = new EventStore({ events: eventRegistry(Point, Pixel), storage: fileStorage(path, { codecs: [pixelCodec] }) });
    await v2.open();
    v2.enqueue("p", [Pixel.create({ x: 5, y: 6 }), Point.create({ x: 7, y: 8 }), Pixel.create({ x: 9, y: 10 })]);
    await v2.close();
    const again = new EventStore({ events: eventRegistry(Point, Pixel), storage: fileStorage(path, { codecs: [pixelCodec] }) });
    await again.open();
    try {
      const read = await again.readAll();
      assert.deepEqual(read.map((e) => [e.type, e.data.x]), [["Point", 1], ["Point", 3], ["Pixel", 5], ["Point", 7], ["Pixel", 9]]);
    } finally {
      await again.close();
    }
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

test("a one-record append that fails to encode, measuring or writing, is refused whole and the next lands in its place", async () => {
  // OrderRejected's codec refuses a reason it has no code for while it writes, after the
  // record's room in the ring was taken; JSON refuses undefined while it measures.
  const Any = defineEvent("Any", z.any());
  const Rejected = defineEvent("OrderRejected", z.any());
  const directory = temporaryDirectory();
  try {
    const path = join(directory.path, "wal");
    const open = async () => {
      const store = new EventStore({ events: eventRegistry(Any, Rejected), storage: fileStorage(path, { codecs: orderBookCodecs }) });
      await store.open();
      return store;
    };
    const store = await open();
    const rejected = (reason: string) => ({ type: "OrderRejected" as const, data: { orderId: 1, account: 2, command: "place", reason } });
    store.enqueue("s", [rejected("unknown-order")]);
    for (const bad of [{ type: "Any" as const, data: undefined }, rejected("no such reason")]) {
      assert.throws(() => store.enqueue("s", [bad]), (error: unknown) => error instanceof ValidationError && /events/.test(error.message));
      assert.equal(store.headPosition, 1);
    }
    store.enqueue("s", [{ type: "Any", data: 2 }]);
    store.enqueue("s", [rejected("unknown-order")]);
    await store.close();
    const again = await open();
    assert.deepEqual((await again.readAll()).map((e) => [e.position, e.type]), [[1, "OrderRejected"], [2, "Any"], [3, "OrderRejected"]]);
    await again.close();
  } finally {
    directory.remove();
  }
});

test("ids read back one after another are what a TextDecoder makes of their bytes, or fail as it does", () => {
  const encoder = new TextEncoder();
  const fatal = new TextDecoder("utf-8", { fatal: true });
  // Generated ids come in blocks sharing all but the last two characters: the decoder's fast case.
  const step = fc.oneof(
    fc.record({ generated: fc.integer({ min: 1, max: 300 }), at: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ text: fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }), at: fc.integer({ min: 0, max: 3 }) }),
    // The last id with its last two bytes replaced (UTF-8 or not), or one byte anywhere changed.
    fc.record({ lastTwo: fc.uint8Array({ minLength: 2, maxLength: 2 }), at: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ change: fc.nat(), to: fc.integer({ min: 0, max: 255 }), at: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ raw: fc.uint8Array({ minLength: 1, maxLength: 40 }), at: fc.integer({ min: 0, max: 3 }) }),
  );
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }), (steps, start) => {
      const ids = new IdDecoder();
      let last: Uint8Array = new Uint8Array(0);
      let time = start;
      for (const one of steps) {
        let bytes: Uint8Array;
        if ("generated" in one) {
          for (let i = 1; i < one.generated; i++) uuidV7(time);
          bytes = encoder.encode(uuidV7(time));
          if (one.generated > 250) time++;
        } else if ("text" in one) bytes = encoder.encode(one.text);
        else if ("lastTwo" in one) {
          bytes = last.length >= 2 ? new Uint8Array([...last.subarray(0, last.length - 2), ...one.lastTwo]) : one.lastTwo;
        } else if ("change" in one) {
          bytes = last.slice();
          if (bytes.length > 0) bytes[one.change % bytes.length] = one.to;
        } else bytes = one.raw;
        if (bytes.length === 0 || bytes.length > 255) continue;
        const holder = new Uint8Array(bytes.length + one.at);
        holder.set(bytes, one.at);
        let expected: string | undefined;
        try {
          expected = fatal.decode(bytes);
        } catch {
          expected = undefined;
        }
        if (expected === undefined) assert.throws(() => ids.decode(holder, new DataView(holder.buffer), one.at, bytes.length));
        else assert.equal(ids.decode(holder, new DataView(holder.buffer), one.at, bytes.length), expected);
        last = bytes;
      }
    }),
    { seed: testSeed(), numRuns: 300 },
  );
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
