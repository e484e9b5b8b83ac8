/**
 * Consumers: named subscriptions that survive restarts (checkpoints in the storage's
 * consumer store), with retry / skip / park / stop on failure, filters, a caught-up
 * signal, and groups where one member handles at a time.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Consumer, ConsumerError, createMemoryLog, EventStore, MemoryAdapter, openEventStore, type RecordedEvent, ValidationError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { noted, type TestEvent, testEvents } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";

async function withNotes(count: number, log = createMemoryLog()) {
  const store = await openEventStore({ events: testEvents(), storage: new MemoryAdapter(log) });
  for (let i = 1; i <= count; i++) await store.append(i % 2 ? "odd-1" : "even-1", [noted(i)]);
  return store;
}
const silent = { onError: () => {} };

describe("consumers", () => {
  test("a restart resumes after the last event handled (file storage: the checkpoint is on disk)", async () => {
    const directory = temporaryDirectory();
    try {
      const open = async () => {
        const store = new EventStore({ events: testEvents(), storage: fileStorage(directory.path) });
        await store.open();
        return store;
      };
      let store = await open();
      for (let i = 1; i <= 10; i++) await store.append("s", [noted(i)]);
      const seen: number[] = [];
      let consumer = new Consumer(store, { name: "audit", handler: (event) => void seen.push((event.data as { n: number }).n) });
      await consumer.start();
      await consumer.caughtUp();
      await consumer.stop();
      await store.close();

      store = await open();
      for (let i = 11; i <= 15; i++) await store.append("s", [noted(i)]);
      consumer = new Consumer(store, { name: "audit", handler: (event) => void seen.push((event.data as { n: number }).n) });
      await consumer.start();
      await consumer.caughtUp();
      assert.deepEqual(seen, Array.from({ length: 15 }, (_, i) => i + 1));
      await consumer.stop();
      await store.close();
    } finally {
      directory.remove();
    }
  });

  test("async handlers run one at a time, in order; caughtUp resolves once past the head", async () => {
    const store = await withNotes(30);
    const seen: number[] = [];
    let running = 0;
    const consumer = new Consumer(store, {
      name: "slow",
      handler: async (event) => {
        assert.equal(++running, 1, "two events handled at once");
        await new Promise((resolve) => setTimeout(resolve, 1));
        seen.push(event.position);
        running--;
      },
    });
    await consumer.start();
    await consumer.caughtUp();
    assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => i + 1));
    await store.append("odd-1", [noted(31)]);
    await consumer.caughtUp();
    assert.equal(seen.at(-1), 31);
    await consumer.stop();
  });

  test("a failing handler is retried with backoff, then stops, skips or parks the event by policy", async () => {
    const failOn = (position: number, times: number) => {
      let failures = 0;
      const seen: number[] = [];
      return {
        seen,
        handler: (event: RecordedEvent<TestEvent>) => {
          if (event.position === position && failures++ < times) throw new Error(`boom ${failures}`);
          seen.push(event.position);
        },
      };
    };
    // Retried: succeeds on the third call.
    const retried = failOn(3, 2);
    const store = await withNotes(5);
    const ok = new Consumer(store, { name: "retried", handler: retried.handler, retry: { attempts: 2, backoffMs: 1 } });
    await ok.start();
    await ok.caughtUp();
    assert.deepEqual(retried.seen, [1, 2, 3, 4, 5]);
    await ok.stop();

    // skip: the event is passed over, reported, the rest handled.
    const skipped = failOn(3, 99);
    const errors: unknown[] = [];
    const skipper = new Consumer(store, {
      name: "skipper", handler: skipped.handler, retry: { attempts: 1, backoffMs: 1 }, onFailure: "skip", onError: (e) => void errors.push(e),
    });
    await skipper.start();
    await skipper.caughtUp();
    assert.deepEqual(skipped.seen, [1, 2, 4, 5]);
    assert.ok(errors[0] instanceof ConsumerError && errors[0].policy === "skip" && errors[0].attempts === 2 && errors[0].position === 3);
    await skipper.stop();

    // park: as skip, and the event is kept in the consumer store.
    const parked = failOn(2, 99);
    const parker = new Consumer(store, { name: "parker", handler: parked.handler, retry: { attempts: 0 }, onFailure: "park", ...silent });
    await parker.start();
    await parker.caughtUp();
    assert.deepEqual(parked.seen, [1, 3, 4, 5]);
    const [kept] = await parker.parked();
    assert.deepEqual({ ...kept, parkedAt: 0 }, { position: 2, streamId: "even-1", type: "Noted", error: "boom 1", parkedAt: 0 });
    await parker.stop();

    // stop (the default): the consumer stops at the event; caughtUp rejects; the checkpoint stays before it.
    const stopped = failOn(4, 99);
    const stopper = new Consumer(store, { name: "stopper", handler: stopped.handler, retry: { attempts: 0 }, ...silent });
    await stopper.start();
    await assert.rejects(stopper.caughtUp(), (error) => error instanceof ConsumerError && error.position === 4 && error.policy === "stop");
    assert.deepEqual(stopped.seen, [1, 2, 3]);
    assert.equal(await store.storage.consumers!.load("stopper"), 3);
    await stopper.stop();
  });

  test("filters: only matching events reach the handler; the checkpoint still moves past the others", async () => {
    const store = await withNotes(10);
    await store.append("other-9", [noted(11)]);
    const seen: number[] = [];
    const consumer = new Consumer(store, { name: "odd", filter: { streamPrefix: "odd-", types: ["Noted"] }, handler: (e) => void seen.push(e.position) });
    await consumer.start();
    await consumer.caughtUp();
    assert.deepEqual(seen, [1, 3, 5, 7, 9]);
    await consumer.stop();
    assert.equal(await store.storage.consumers!.load("odd"), 11);
  });

  test("a group: one member active at a time, no event handled twice; the other takes over when it stops", async () => {
    const store = await withNotes(10);
    const handled: [string, number][] = [];
    const member = (label: string) => new Consumer(store, { name: "group", leaseMs: 60, handler: (e) => void handled.push([label, e.position]) });
    const [a, b, c] = [member("a"), member("b"), member("c")];
    await Promise.all([a.start(), b.start(), c.start()]);
    assert.equal([a, b, c].filter((m) => m.active).length, 1);
    const leader = [a, b, c].find((m) => m.active)!;
    await leader.caughtUp();
    await leader.stop();
    for (let i = 11; i <= 20; i++) await store.append("odd-1", [noted(i)]);
    const rest = [a, b, c].filter((m) => m !== leader);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (rest.some((m) => m.active && m.position >= 20)) resolve(void clearInterval(check));
      }, 5);
    });
    assert.equal(rest.filter((m) => m.active).length, 1);
    assert.deepEqual(handled.map(([, p]) => p), Array.from({ length: 20 }, (_, i) => i + 1));
    await Promise.all(rest.map((m) => m.stop()));
  });

  test("a member whose lease was taken over stops handling and does not move the checkpoint", async () => {
    const store = await withNotes(3);
    const consumers = store.storage.consumers!;
    const seen: number[] = [];
    const lost: unknown[] = [];
    const consumer = new Consumer(store, { name: "fenced", leaseMs: 60, handler: (e) => void seen.push(e.position), onError: (e) => void lost.push(e) });
    await consumer.start();
    await consumer.caughtUp();
    // Another member takes the lease (as if this one had stalled past its lease).
    await consumers.release("fenced", consumer.member);
    assert.equal(await consumers.acquire("fenced", "intruder", 60_000), true);
    await store.append("odd-1", [noted(4)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(consumer.active, false);
    assert.equal(await consumers.load("fenced"), 3, "a member without the lease moved the checkpoint");
    assert.ok(lost.some((e) => /lost its group lease/.test(String(e))));
    await consumer.stop();
  });

  test("options are checked where they enter", async () => {
    const store = await withNotes(0);
    const bad: Record<string, unknown>[] = [
      { name: "" }, { name: "x", handler: 1 }, { name: "x", onFailure: "retry" }, { name: "x", retry: { attempts: -1 } },
      { name: "x", retry: { tries: 1 } }, { name: "x", checkpointEvery: 0 }, { name: "x", leaseMs: 5 }, { name: "x", filter: { kind: "a" } },
      { name: "x", store: {} }, { name: "x", durable: true },
    ];
    for (const options of bad) {
      assert.throws(() => new Consumer(store, { handler: () => {}, ...options } as never), ValidationError, JSON.stringify(options));
    }
    const consumer = new Consumer(store, { name: "x", handler: () => {} });
    await consumer.start();
    await assert.rejects(consumer.start(), ValidationError);
    await consumer.stop();
  });
});
