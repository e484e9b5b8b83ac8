/**
 * The WAL encoder's JSON (src/wal/json-writer.ts) must be byte for byte what JSON.stringify
 * and UTF-8 give: a record's data is read back with JSON.parse, and logs written before the
 * writer existed must read the same.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { JsonWriter } from "../src/wal/json-writer.ts";
import { testSeed, withSeed } from "./support/seed.ts";

const utf8 = new TextEncoder();
const written = (writer: JsonWriter, value: unknown) => {
  const length = writer.write(value);
  return length < 0 ? undefined : writer.bytes.slice(0, length);
};
const expected = (value: unknown) => {
  const json = JSON.stringify(value);
  return json === undefined ? undefined : utf8.encode(json);
};

test("JSON writer: plain data comes out as JSON.stringify's UTF-8, for any value", async () => {
  const seed = testSeed();
  const writer = new JsonWriter();
  // Strings of any UTF-16 units: escapes, control characters, astral pairs, lone surrogates.
  const text = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }));
  const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, 1e21, 5e-324, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity));
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      text,
      number,
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(undefined, () => 1, Symbol("s")),
      fc.array(tie("value")),
      fc.dictionary(text, tie("value")),
      fc.dictionary(text, tie("value"), { noNullPrototype: false }),
    ),
  }));
  await withSeed("JSON writer", seed, () =>
    fc.assert(
      fc.property(value, (v) => {
        assert.deepEqual(written(writer, v), expected(v));
      }),
      { seed, numRuns: 3000 },
    ));
});

test("JSON writer: what is not plain data gets JSON.stringify's answer, errors included", () => {
  const writer = new JsonWriter();
  class Point {
    constructor(public x: number, public y: number) {}
  }
  const inherited = Object.create({ hidden: 1 });
  inherited.own = 2;
  for (
    const value of [
      { at: new Date(0) },
      [new Map([[1, 2]]), new Set([1])],
      new Point(1, 2),
      { toJSON: () => ({ replaced: true }) },
      inherited,
      { n: new Number(3), s: new String("x"), b: new Boolean(false) },
      { deep: JSON.parse("[".repeat(100) + "]".repeat(100)) },
      { a: [1, , 3] },
    ]
  ) {
    assert.deepEqual(written(writer, value), expected(value), JSON.stringify(value));
  }
  for (const value of [undefined, () => 1, Symbol("x")]) assert.equal(writer.write(value), -1);
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  assert.throws(() => writer.write(cycle), TypeError);
  assert.throws(() => writer.write({ big: 1n }), TypeError);
  // A failed value leaves nothing behind for the next.
  assert.deepEqual(written(writer, { ok: "yes" }), utf8.encode('{"ok":"yes"}'));
});

test("JSON writer: a value larger than its buffer grows it, and the room is let go after it", () => {
  const writer = new JsonWriter();
  const value = { text: "é\u2028".repeat(100_000), list: Array.from({ length: 5000 }, (_, i) => i * 1.5) };
  assert.deepEqual(written(writer, value), expected(value));
  assert.ok(writer.bytes.length > 1 << 20);
  assert.deepEqual(written(writer, [1]), utf8.encode("[1]"));
  assert.ok(writer.bytes.length <= 1 << 20);
});

test("JSON writer: keys in JSON.stringify's order, and nothing inherited even when Object.prototype has enumerable keys", () => {
  const writer = new JsonWriter();
  const value = { b: 1, 2: "x", a: { z: 2, 10: [1, { y: 0 }], 1: null }, 1: "y" };
  assert.deepEqual(written(writer, value), expected(value));
  // Someone's library pollutes Object.prototype: JSON.stringify leaves such keys out, and so must we.
  Object.defineProperty(Object.prototype, "polluted", { value: 1, enumerable: true, configurable: true, writable: true });
  try {
    assert.deepEqual(written(writer, value), expected(value));
    assert.ok(!new TextDecoder().decode(written(writer, value)).includes("polluted"));
  } finally {
    delete (Object.prototype as Record<string, unknown>).polluted;
  }
  assert.deepEqual(written(writer, value), expected(value));
});
