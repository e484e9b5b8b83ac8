import { test } from "node:test";
import assert from "node:assert/strict";
import { CatchUpProjection, createMemoryLog, MemoryAdapter, MemoryCheckpointStore, openEventStore } from "../mod.ts";
import { bankEvents, type BankEvent, MoneyDeposited, totalDeposits } from "../examples/bank.ts";

const deposits = (store: { enqueue(id: string, e: BankEvent[]): unknown }, ...cents: number[]) => {
  for (const c of cents) store.enqueue(`account-${c}`, [MoneyDeposited.create({ cents: c })]);
};

const depositCount = {
  name: "deposit-count",
  initialState: () => ({ count: 0, cents: 0 }),
  apply: (state: { count: number; cents: number }, event: { type: string; data: unknown }) =>
    event.type === "MoneyDeposited"
      ? { count: state.count + 1, cents: state.cents + (event.data as { cents: number }).cents }
      : state,
};

test("an inline projection is current right after the append and is rebuilt at open", async () => {
  const log = createMemoryLog();
  const total = totalDeposits();
  const store = await openEventStore({ events: bankEvents, storage: new MemoryAdapter(log), projections: [total] });
  deposits(store, 10, 20);
  assert.equal(total.state, 30);
  const again = totalDeposits();
  await openEventStore({ events: bankEvents, storage: new MemoryAdapter(log), projections: [again] });
  assert.equal(again.state, 30);
});

test("a catch-up projection resumes from its checkpoint and can be rebuilt from zero", async () => {
  const store = await openEventStore({ events: bankEvents });
  const checkpoints = new MemoryCheckpointStore();
  deposits(store, 1, 2, 3);
  const first = new CatchUpProjection(store, depositCount, { checkpoints, checkpointEvery: 2 });
  await first.start();
  await first.caughtUp();
  assert.deepEqual(first.state, { count: 3, cents: 6 });
  await first.stop();
  assert.deepEqual(await checkpoints.load("deposit-count"), { position: 3, state: { count: 3, cents: 6 } });

  deposits(store, 4);
  const seen: number[] = [];
  const resumed = new CatchUpProjection(store, {
    ...depositCount,
    apply: (state, event) => (seen.push(event.position), depositCount.apply(state, event)),
  }, { checkpoints });
  await resumed.start();
  await resumed.caughtUp();
  assert.deepEqual(seen, [4]);
  assert.deepEqual(resumed.state, { count: 4, cents: 10 });

  deposits(store, 5);
  await resumed.caughtUp();
  assert.deepEqual(resumed.state, { count: 5, cents: 15 });
  await resumed.rebuild();
  await resumed.caughtUp();
  assert.deepEqual(seen, [4, 5, 1, 2, 3, 4, 5]);
  assert.deepEqual(resumed.state, { count: 5, cents: 15 });
  await resumed.stop();
  await store.close();
});

test("a subscription whose handler throws stops and reports the error", async () => {
  const store = await openEventStore({ events: bankEvents });
  deposits(store, 1, 2);
  const errors: unknown[] = [];
  const subscription = store.subscribe((event) => {
    if (event.position === 2) throw new Error("read model down");
  }, { from: 1, onError: (error) => errors.push(error) });
  await assert.rejects(subscription.done, /read model down/);
  assert.equal(errors.length, 1);
  assert.equal(subscription.position, 2);
});
