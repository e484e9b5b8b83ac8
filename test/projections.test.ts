import { test } from "node:test";
import assert from "node:assert/strict";
import { CatchUpProjection, createMemoryLog, inlineProjection, MemoryAdapter, MemoryCheckpointStore, openEventStore, ProjectionError } from "../mod.ts";
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

test("an inline projection that throws is faulted and reported; the append it belongs to stands", async () => {
  const log = createMemoryLog();
  const reported: ProjectionError[] = [];
  const total = totalDeposits();
  const brittle = inlineProjection({
    name: "brittle",
    initialState: () => 0,
    apply: (state: number, event: { data: unknown }) => {
      if ((event.data as { cents: number }).cents === 13) throw new Error("unlucky");
      return state + 1;
    },
  });
  const store = await openEventStore({
    events: bankEvents, storage: new MemoryAdapter(log), projections: [brittle, total],
    onProjectionError: (error) => reported.push(error),
  });
  await store.append("account-a", [MoneyDeposited.create({ cents: 10 })]);
  // The append is in the log and acknowledged: a caller that retried would duplicate it.
  const appended = await store.append("account-a", [MoneyDeposited.create({ cents: 13 })]);
  assert.equal(appended.position, 2);
  assert.equal(store.headPosition, 2);
  assert.equal(reported.length, 1);
  assert.ok(reported[0] instanceof ProjectionError);
  assert.equal(reported[0].code, "PROJECTION");
  assert.equal(reported[0].projection, "brittle");
  assert.equal(reported[0].position, 2);
  assert.equal((reported[0].cause as Error).message, "unlucky");
  assert.deepEqual(store.projectionFaults, reported);
  // A faulted read model is not served as if it were current; the other projection goes on.
  assert.equal(brittle.faulted, reported[0]);
  assert.throws(() => brittle.state, ProjectionError);
  await store.append("account-a", [MoneyDeposited.create({ cents: 5 })]);
  assert.equal(total.state, 28);
  assert.equal(reported.length, 1);
  assert.deepEqual((await store.readAll()).map((event) => event.data), [{ cents: 10 }, { cents: 13 }, { cents: 5 }]);
});
