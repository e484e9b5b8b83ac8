/**
 * The book's price ladder (a paged bitset of active prices, each with a value) against a
 * sorted array and a Map: any sequence of adds and deletes, over prices that cluster
 * inside a page, sit on page and word edges, and reach the largest prices an instrument
 * may have; both directions.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { PriceLadder } from "../src/orderbook/price-ladder.ts";
import { testSeed, withSeed } from "./support/seed.ts";

const price = fc.oneof(
  fc.integer({ min: 99_000, max: 101_000 }), // around one spread: a few pages
  fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom(-1, 0, 1, 31, 32)).map(([page, edge]) => page * 1024 + edge), // page and word edges
  fc.integer({ min: 1, max: 70 }),
  fc.integer({ min: 1, max: 1e12 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);
const operation = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("add" as const), price }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("delete" as const), pick: fc.nat() }), weight: 2 },
);

/** Every price of the ladder, best first, by walking it. */
function walk(ladder: PriceLadder): number[] {
  const prices: number[] = [];
  for (let p = ladder.best; p !== 0; p = ladder.after(p)) prices.push(p);
  return prices;
}

for (const descending of [true, false]) {
  test(`the price ladder (${descending ? "bids, best highest" : "asks, best lowest"}) agrees with a sorted array and a Map through adds and deletes`, async () => {
    const seed = testSeed();
    await withSeed("price ladder property test", seed, () => fc.assert(
      fc.property(fc.array(operation, { maxLength: 600 }), fc.array(price, { maxLength: 20 }), (operations, probes) => {
        const ladder = new PriceLadder(descending);
        const held = new Map<number, number>();
        let next = 1;
        for (const step of operations) {
          if (step.op === "add") {
            if (held.has(step.price)) continue;
            const value = next++;
            ladder.add(step.price, value);
            held.set(step.price, value);
            assert.equal(ladder.get(step.price), value, `value of ${step.price} once added`);
          } else if (held.size > 0) {
            const victim = [...held.keys()][step.pick % held.size]!;
            assert.equal(ladder.delete(victim), held.get(victim), `value deleting ${victim}`);
            held.delete(victim);
            assert.equal(ladder.get(victim), 0, `value of ${victim} once deleted`);
          }
          const best = held.size === 0 ? 0 : descending ? Math.max(...held.keys()) : Math.min(...held.keys());
          assert.equal(ladder.best, best, "best price");
        }
        const sorted = [...held.keys()].sort((a, b) => descending ? b - a : a - b);
        assert.deepEqual(walk(ladder), sorted, "prices walked from the best");
        for (const [p, value] of held) assert.equal(ladder.get(p), value, `value of ${p}`);
        for (const probe of probes) assert.equal(ladder.get(probe), held.get(probe) ?? 0, `value of probe ${probe}`);
        // From any price, held or not, the next worse one held.
        for (const probe of [...probes, ...sorted.slice(0, 5)]) {
          const worse = sorted.find((p) => descending ? p < probe : p > probe) ?? 0;
          assert.equal(ladder.after(probe), worse, `after ${probe}`);
        }
      }),
      { seed, numRuns: 80 },
    ));
  });
}

test("the price ladder frees a page whose prices are gone and walks past the gap", () => {
  const ladder = new PriceLadder(true);
  for (const p of [5, 1023, 1024, 2047, 2048, 5000]) ladder.add(p, p + 1);
  assert.deepEqual(walk(ladder), [5000, 2048, 2047, 1024, 1023, 5]);
  assert.equal(ladder.delete(1024), 1025);
  assert.equal(ladder.delete(2047), 2048); // the page 1024..2047 is empty now
  assert.deepEqual(walk(ladder), [5000, 2048, 1023, 5]);
  assert.equal(ladder.after(1500), 1023, "from inside the freed page");
  ladder.add(1500, 7); // the page again, maybe in the slot another page had
  assert.deepEqual(walk(ladder), [5000, 2048, 1500, 1023, 5]);
  assert.equal(ladder.get(1500), 7);
  for (const p of [1024, 2047, 1501, 3000]) assert.equal(ladder.get(p), 0, `${p} is not held`);
  for (const [p, value] of [[5000, 5001], [2048, 2049], [1500, 7], [1023, 1024], [5, 6]]) assert.equal(ladder.delete(p!), value);
  assert.equal(ladder.best, 0);
  assert.deepEqual(walk(ladder), []);
  assert.equal(ladder.after(3000), 0);
});

test("the price ladder holds prices on many pages (its page storage grows)", () => {
  const ladder = new PriceLadder(false);
  const prices = Array.from({ length: 3000 }, (_, i) => 1 + i * 1024 * 7);
  for (const [i, p] of [...prices.entries()].reverse()) ladder.add(p, i + 1);
  assert.deepEqual(walk(ladder), prices);
  for (const [i, p] of prices.entries()) assert.equal(ladder.get(p), i + 1, `value of ${p} after growth`);
  for (let i = 0; i < prices.length; i += 2) ladder.delete(prices[i]!);
  assert.deepEqual(walk(ladder), prices.filter((_, i) => i % 2 === 1));
});
