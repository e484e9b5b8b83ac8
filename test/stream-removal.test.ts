/**
 * Stream deletion and truncation beyond the conformance suite: the command handler on a
 * removed stream, subscriptions, consumers and inline projections passing over markers,
 * and the "$" types being the store's own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Consumer,
  createCommandHandler,
  createMemoryLog,
  defineEvent,
  type InlineProjection,
  MemoryAdapter,
  openEventStore,
  type RecordedEvent,
  StreamDeletedError,
  ValidationError,
} from "../mod.ts";
import { z } from "zod";
import { bank, BankCommand, bankEvents, type BankEvent } from "../examples/bank.ts";

async function bankSetup(projections: InlineProjection<BankEvent>[] = [], log = createMemoryLog()) {
  const store = await openEventStore({ events: bankEvents, storage: new MemoryAdapter(log), projections });
  const handler = createCommandHandler({ store, decider: bank, command: BankCommand, streamId: (c) => `account-${c.account}` });
  return { store, handler };
}

test("a command on a deleted stream is refused with StreamDeletedError, cached or loaded afresh; nothing is appended", async () => {
  const { store, handler } = await bankSetup();
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  await store.deleteStream("account-a");
  const head = store.headPosition;
  await assert.rejects(handler.handle({ type: "deposit", account: "a", cents: 5 }), StreamDeletedError);
  handler.evict();
  await assert.rejects(handler.handle({ type: "deposit", account: "a", cents: 5 }), StreamDeletedError);
  assert.equal(store.headPosition, head);
});

test("a truncated stream is folded from its first kept version; the marker's version is passed over", async () => {
  const { store, handler } = await bankSetup();
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  await handler.handle({ type: "deposit", account: "a", cents: 10 });
  await handler.handle({ type: "deposit", account: "a", cents: 20 });
  await store.truncateStream("account-a", 3);
  // Cached: the marker is passed over from the buffer.
  const cached = await handler.handle({ type: "deposit", account: "a", cents: 1 });
  assert.deepEqual(cached.state, { open: true, balance: 31 });
  assert.equal(cached.streamVersion, 5);
  // Loaded afresh, without a snapshot: only what the truncation kept (the opening is gone).
  handler.evict();
  assert.deepEqual(await handler.load("account-a"), { open: false, balance: 21 });
});

test("subscriptions, consumers and inline projections pass over markers and removed events; caughtUp resolves at a marker head", async () => {
  const projected: number[] = [];
  const log = createMemoryLog();
  const { store, handler } = await bankSetup([{ name: "positions", apply: (event) => void projected.push(event.position) }], log);
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  await handler.handle({ type: "open", account: "b", owner: "Bob" });
  await store.deleteStream("account-a");
  const delivered: number[] = [];
  const subscription = store.subscribe((event) => void delivered.push(event.position), { from: 1 });
  const consumed: RecordedEvent<BankEvent>[] = [];
  const consumer = new Consumer(store, { name: "c", handler: (event) => void consumed.push(event) });
  await consumer.start();
  await consumer.caughtUp(); // the head is the tombstone, never delivered
  assert.equal(consumer.position, 3);
  assert.deepEqual(consumed.map((event) => event.position), [2]);
  await store.append("account-b", [bankEvents.validate({ type: "MoneyDeposited", data: { cents: 5 } })]);
  await consumer.caughtUp();
  await consumer.stop();
  while (subscription.position <= store.headPosition) await new Promise((resolve) => setTimeout(resolve, 1));
  subscription.close();
  assert.deepEqual(delivered, [2, 4]);
  assert.deepEqual(projected, [1, 2, 4]);
  // Rebuilt at open, the projection no longer sees the deleted stream.
  await store.close();
  const rebuilt: number[] = [];
  const reopened = await openEventStore({
    events: bankEvents,
    storage: new MemoryAdapter(log),
    projections: [{ name: "rebuilt", apply: (event) => void rebuilt.push(event.position) }],
  });
  await reopened.close();
  assert.deepEqual(rebuilt, [2, 4]);
});

test("event types beginning with $ are the store's own: defineEvent refuses them", () => {
  assert.throws(() => defineEvent("$streamDeleted", z.object({})), (error: unknown) =>
    error instanceof ValidationError && /"\$" are the store's own/.test(error.message));
});

test("deleteStream and truncateStream check their options and refuse before changing anything", async () => {
  const { store, handler } = await bankSetup();
  await handler.handle({ type: "open", account: "a", owner: "Ann" });
  await assert.rejects(store.deleteStream("account-a", { expected: 1 } as never), ValidationError);
  await assert.rejects(store.deleteStream("account-a", { expectedVersion: -1 }), ValidationError);
  await assert.rejects(store.truncateStream("account-a", "1" as never), ValidationError);
  await assert.rejects(store.deleteStream("" as never), ValidationError);
  assert.equal(store.headPosition, 1);
  assert.equal(store.streamDeleted("account-a"), false);
});
