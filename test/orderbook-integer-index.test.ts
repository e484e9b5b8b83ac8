/**
 * The order book's integer index (order ids, prices) (an open-addressing integer hash) against a Map: any sequence
 * of sets, deletes and lookups, over ids that collide, cross 2^32 and reach 2^53 - 1.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { IntegerIndex } from "../src/orderbook/integer-index.ts";
import { testSeed, withSeed } from "./support/seed.ts";

const id = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.integer({ min: 1, max: 2 ** 31 }).map((n) => n * 1024), // many share their low bits
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);
const operation = fc.oneof(
  fc.record({ op: fc.constant("set" as const), id }),
  fc.record({ op: fc.constant("delete" as const), pick: fc.nat() }),
);

for (const buckets of [undefined, 2]) {
  test(`the integer index (${buckets ?? "default"} buckets to start) answers like a Map through sets, deletes and growth`, async () => {
    const seed = testSeed();
    await withSeed("integer index property test", seed, () => fc.assert(
      fc.property(fc.array(operation, { maxLength: 3000 }), (operations) => {
        const index = new IntegerIndex(buckets);
        const reference = new Map<number, number>();
        let nextSlot = 1;
        for (const step of operations) {
          if (step.op === "set") {
            if (reference.has(step.id)) continue;
            index.set(step.id, nextSlot);
            reference.set(step.id, nextSlot++);
          } else if (reference.size > 0) {
            const held = [...reference.keys()];
            const victim = held[step.pick % held.length]!;
            assert.equal(index.delete(victim), reference.get(victim), `slot of deleted id ${victim}`);
            reference.delete(victim);
            assert.equal(index.get(victim), 0, `deleted id ${victim} still found`);
          }
        }
        assert.equal(index.size, reference.size);
        for (const [key, slot] of reference) assert.equal(index.get(key), slot, `id ${key}`);
      }),
      { seed, numRuns: 60 },
    ));
  });
}

test("the integer index keeps every id of a long run of deletes in the middle of collision chains", () => {
  const index = new IntegerIndex();
  const ids = Array.from({ length: 5000 }, (_, i) => (i + 1) * 2 ** 20); // equal low 20 bits
  ids.forEach((key, i) => index.set(key, i + 1));
  for (let i = 0; i < ids.length; i += 3) index.delete(ids[i]!);
  ids.forEach((key, i) => assert.equal(index.get(key), i % 3 === 0 ? 0 : i + 1, `id ${key}`));
  assert.equal(index.size, ids.length - Math.ceil(ids.length / 3));
});
