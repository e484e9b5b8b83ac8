/**
 * The record decoder under random and mutated input (fast-check, seeded): `checkRecord`
 * never throws and never claims more bytes than it was given; `decode` of anything the
 * frame check accepted returns a record or throws RangeError, nothing else; a huge length
 * field is refused before anything is allocated. EVENTFOLD_FUZZ_RUNS sets the total number
 * of inputs (default 1,000,000).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { StoredRecord } from "../mod.ts";
import { orderBookCodecs } from "../src/orderbook/index.ts";
import { CodecTable } from "../src/wal/codec.ts";
import { checksumOf } from "../src/wal/crc32c.ts";
import { checkRecord, newPlan, paddedLength, RecordDecoder, RecordEncoder, sealRecord } from "../src/wal/record-format.ts";
import { testSeed, withSeed } from "./support/seed.ts";
import { sweepSize } from "./support/sweep.ts";

const RUNS = sweepSize("EVENTFOLD_FUZZ_RUNS", 1_000_000, 50_000);
const codecs = new CodecTable(orderBookCodecs);
const PROBLEMS = new Set(["truncated", "zero", "bad-length", "bad-checksum"]);

const base = { metadata: undefined, schemaVersion: 1, streamId: "book-XBT-USD", streamVersion: 7, position: 42, timestamp: 1_764_000_000_000 };
const samples: StoredRecord[] = [
  { ...base, type: "TradeExecuted", data: { price: 100_005, quantity: 7, makerOrderId: 1, makerAccount: 2, takerOrderId: 3, takerAccount: 4, takerSide: "buy" } },
  { ...base, type: "OrderCancelled", data: { orderId: 9, account: 3, remaining: 5, reason: "requested" } },
  { ...base, type: "Noted", data: { text: "héllo wörld", n: 12 }, metadata: { correlationId: "c-1" } },
  { ...base, type: "Empty", data: {} },
  { ...base, type: "Noted", data: { text: "with an id", n: 13 }, id: "6f1c2a4e-0b7d-4c55-9e21-3f0d8a9b7c11" },
];

/** Each sample encoded (CRC sealed) on its own. */
const encoded = samples.map((record) => {
  const encoder = new RecordEncoder(codecs);
  const plan = newPlan();
  const length = encoder.measure(record, plan);
  const bytes = new Uint8Array(paddedLength(length));
  const view = new DataView(bytes.buffer);
  encoder.write(record, plan, bytes, view, 0, length);
  sealRecord(view, 0, checksumOf(bytes));
  return bytes;
});

/** Frame check, then decode: the documented outcomes only. */
function examine(bytes: Uint8Array, decoder: RecordDecoder): number | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const checked = checkRecord(bytes, view, 0, bytes.length);
  if (typeof checked === "string") {
    assert.ok(PROBLEMS.has(checked), `unexpected problem ${checked}`);
    return checked;
  }
  assert.ok(Number.isInteger(checked) && checked >= 40 && checked <= bytes.length, `frame length ${checked} of ${bytes.length} bytes`);
  try {
    decoder.decode(bytes, view, 0);
  } catch (error) {
    assert.ok(error instanceof RangeError, `decode threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
  }
  return checked;
}

test("the decoder round-trips the sample records", () => {
  const decoder = new RecordDecoder(codecs);
  encoded.forEach((bytes, i) => {
    const view = new DataView(bytes.buffer);
    assert.equal(typeof checkRecord(bytes, view, 0, bytes.length), "number");
    assert.deepEqual(decoder.decode(bytes, view, 0), samples[i]);
  });
});

test("a huge length field is refused before anything is read or allocated", () => {
  for (const bytes of encoded) {
    const copy = bytes.slice();
    const view = new DataView(copy.buffer);
    for (const length of [0xffff_ffff, 0x8000_0000, copy.length + 1]) {
      view.setUint32(4, length, true);
      assert.equal(checkRecord(copy, view, 0, copy.length), "truncated");
    }
  }
});

test(`random bytes (${Math.round(RUNS * 0.3).toLocaleString("en")} inputs) get only the documented outcomes`, async () => {
  const seed = testSeed();
  await withSeed("decoder fuzz: random", seed, () => {
    const decoder = new RecordDecoder(codecs);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 160 }), (bytes) => void examine(bytes, decoder)),
      { seed, numRuns: Math.round(RUNS * 0.3) },
    );
  });
});

test(`mutated records (${Math.round(RUNS * 0.7).toLocaleString("en")} inputs): a changed byte is caught by the checksum; re-sealed ones decode or throw RangeError`, async () => {
  const seed = testSeed();
  await withSeed("decoder fuzz: mutated", seed, () => {
    const decoder = new RecordDecoder(codecs);
    const mutation = fc.record({
      sample: fc.nat(encoded.length - 1),
      changes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      cut: fc.option(fc.nat(), { freq: 4 }),
      reseal: fc.boolean(),
    });
    fc.assert(
      fc.property(mutation, ({ sample, changes, cut, reseal }) => {
        let bytes = encoded[sample].slice();
        for (const [at, flip] of changes) bytes[at % bytes.length] ^= flip;
        if (cut !== null) bytes = bytes.slice(0, cut % bytes.length);
        const view = new DataView(bytes.buffer);
        if (reseal && bytes.length >= 8) {
          const length = view.getUint32(4, true);
          if (length >= 8 && length <= bytes.length) sealRecord(view, 0, checksumOf(bytes));
        }
        const outcome = examine(bytes, decoder);
        // One changed byte in the checksum or the bytes it covers (not the padding), not
        // re-sealed: always caught (a CRC detects every error burst of up to 32 bits).
        const original = encoded[sample];
        const covered = changes[0][0] % original.length < new DataView(original.buffer).getUint32(4, true);
        if (!reseal && cut === null && changes.length === 1 && covered) assert.equal(typeof outcome, "string");
      }),
      { seed, numRuns: Math.round(RUNS * 0.7) },
    );
  });
});
