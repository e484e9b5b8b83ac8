/**
 * The storage conformance suite: written once, run against every adapter. An adapter
 * passes when the event store behaves the same over it as over memory. Third-party
 * adapter authors run it from their own `node:test` tests:
 *
 *   import { conformanceSuite } from "eventfold/testing";
 *   conformanceSuite("my adapter", async () => ({ open: () => myAdapter(url), cleanup: () => dropIt(url) }));
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClosedError, ConcurrencyError, StreamDeletedError, UnknownStreamError, ValidationError } from "../core/errors.ts";
import { type Event, type EventRegistry, eventRegistry, type RecordedEvent } from "../core/events.ts";
import { EventStore } from "../core/event-store.ts";
import type { StorageAdapter } from "../core/storage.ts";
import {
  type ConformanceEvent as TestEvent,
  conformanceEvents as testEvents,
  noted,
  PricedV1,
  PricedV3,
  StrictNoted,
  Tagged,
} from "./conformance-events.ts";

/** Storage for one test: `open()` gives an adapter; called again after close, it reopens the same log. */
export interface StorageFixture {
  /** A new adapter over this test's log (the same log again after the previous one closed). */
  open(): StorageAdapter | Promise<StorageAdapter>;
  /** Removes what the test's log left (files, a database). */
  cleanup(): Promise<void>;
}

/** Registers the conformance tests (node:test) for the adapter `fixture` provides. */
export function conformanceSuite(name: string, fixture: () => Promise<StorageFixture>): void {
  describe(`storage conformance: ${name}`, () => {
    async function withStore<E extends Event = TestEvent>(
      run: (store: EventStore<E>, reopen: (events?: EventRegistry<E>) => Promise<EventStore<E>>) => Promise<void>,
      options: { bufferSize?: number; events?: EventRegistry<E> } = {},
    ): Promise<void> {
      const storage = await fixture();
      const events = options.events ?? (testEvents() as unknown as EventRegistry<E>);
      const stores: EventStore<E>[] = [];
      const openStore = async (registry = events) => {
        const store = new EventStore<E>({ events: registry, storage: await storage.open(), bufferSize: options.bufferSize });
        stores.push(store);
        await store.open();
        return store;
      };
      try {
        const store = await openStore();
        await run(store, async (registry) => {
          for (const open of stores) await open.close();
          return await openStore(registry);
        });
      } finally {
        for (const open of stores) await open.close();
        await storage.cleanup();
      }
    }

    test("appends to a new stream and reads it back with versions and positions", () =>
      withStore(async (store) => {
        const result = await store.append("s-1", [noted(1), noted(2)], { expectedVersion: "no_stream" });
        assert.equal(result.streamVersion, 2);
        assert.equal(result.firstPosition, 1);
        assert.equal(result.position, 2);
        const events = await store.readStream("s-1");
        assert.deepEqual(events.map((e) => [e.type, e.data, e.streamId, e.streamVersion, e.position]), [
          ["Noted", { text: "note 1", n: 1 }, "s-1", 1, 1],
          ["Noted", { text: "note 2", n: 2 }, "s-1", 2, 2],
        ]);
        assert.equal(typeof events[0].timestamp, "number");
        assert.equal(store.headPosition, 2);
      }));

    test("expected versions: exact, no_stream, stream_exists and any", () =>
      withStore(async (store) => {
        await store.append("s", [noted(1)], { expectedVersion: "no_stream" });
        await store.append("s", [noted(2)], { expectedVersion: 1 });
        await store.append("s", [noted(3)], { expectedVersion: "stream_exists" });
        await store.append("s", [noted(4)], { expectedVersion: "any" });
        await store.append("t", [noted(5)], { expectedVersion: "any" });
        await assert.rejects(store.append("s", [noted(9)], { expectedVersion: 2 }), (error: unknown) =>
          error instanceof ConcurrencyError && error.code === "CONCURRENCY" && error.actual === 4 &&
          /stream "s" is at version 4, expected version 2/.test(error.message));
        await assert.rejects(store.append("s", [noted(9)], { expectedVersion: "no_stream" }), ConcurrencyError);
        await assert.rejects(store.append("u", [noted(9)], { expectedVersion: "stream_exists" }), ConcurrencyError);
        await assert.rejects(store.append("s", [noted(9)], { expectedVersion: -1 }), ValidationError);
        assert.equal(store.streamVersion("s"), 4);
        assert.equal(store.streamVersion("u"), 0);
        assert.equal(store.headPosition, 5);
      }));

    test("an invalid event is rejected with a typed error and nothing is appended", () =>
      withStore(async (store) => {
        await store.append("s", [noted(1)]);
        const bad = [noted(2), { type: "Noted", data: { text: 42, n: 1 } }] as unknown as TestEvent[];
        await assert.rejects(store.append("s", bad), (error: unknown) =>
          error instanceof ValidationError && error.code === "VALIDATION" &&
          error.issues[0].path === "data.text" && /events\[1\]/.test(error.message));
        await assert.rejects(store.append("s", [{ type: "Nope", data: {} }] as unknown as TestEvent[]),
          /unknown event type "Nope"/);
        await assert.rejects(store.append("", [noted(1)]), /streamId: must be a non-empty string/);
        await assert.rejects(store.append("s", [{ ...noted(3), metadata: [] }] as unknown as TestEvent[]),
          /metadata: must be an object/);
        assert.equal(store.headPosition, 1);
        assert.equal(store.streamVersion("s"), 1);
        assert.deepEqual((await store.readAll()).map((e) => e.position), [1]);
        assert.equal(store.storage.durablePosition() <= 1, true);
      }));

    test("reads a stream by range, limit and backwards", () =>
      withStore(async (store) => {
        for (let i = 1; i <= 6; i++) await store.append(i % 2 ? "odd" : "even", [noted(i)]);
        await store.durable();
        const n = (events: RecordedEvent<TestEvent>[]) => events.map((e) => (e.data as { n: number }).n);
        assert.deepEqual(n(await store.readStream("odd")), [1, 3, 5]);
        assert.deepEqual(n(await store.readStream("odd", { from: 2 })), [3, 5]);
        assert.deepEqual(n(await store.readStream("odd", { from: 1, to: 2 })), [1, 3]);
        assert.deepEqual(n(await store.readStream("odd", { limit: 1 })), [1]);
        assert.deepEqual(n(await store.readStream("even", { direction: "backwards" })), [6, 4, 2]);
        assert.deepEqual(n(await store.readStream("even", { direction: "backwards", from: 2, limit: 5 })), [4, 2]);
        assert.deepEqual(n(await store.readStream("even", { direction: "backwards", to: 3 })), [6]);
        await assert.rejects(store.readStream("missing"), (error: unknown) =>
          error instanceof UnknownStreamError && error.code === "UNKNOWN_STREAM" && /"missing"/.test(error.message));
      }));

    test("visitStream gives the stream's events in order, from storage and from the buffer, as reads do", () =>
      withStore(async (store, reopen) => {
        for (let i = 1; i <= 20; i++) await store.append(i % 3 ? "x" : "y", [noted(i)]);
        await store.durable();
        // Lent events may be refilled for the next one: copy what is kept.
        const copy = (e: RecordedEvent<TestEvent>) => ({ type: e.type, data: { ...e.data }, streamVersion: e.streamVersion, position: e.position });
        for (const open of [() => store, reopen]) {
          const current = await open();
          for (const [streamId, from] of [["x", 1], ["x", 9], ["y", 5]] as const) {
            const visited: ReturnType<typeof copy>[] = [];
            await current.visitStream(streamId, from, (e) => visited.push(copy(e)));
            assert.deepEqual(visited, (await current.readStream(streamId, { from })).map(copy));
          }
          const empty: unknown[] = [];
          await current.visitStream("y", 7, (e) => empty.push(e));
          assert.deepEqual(empty, []);
          // What visit throws rejects the visit; the store reads on.
          const stop = new Error("stop");
          await assert.rejects(current.visitStream("x", 1, () => {
            throw stop;
          }), (error: unknown) => error === stop);
          assert.equal((await current.readStream("x")).length, 14);
          for (const bad of [0, 1.5, undefined]) {
            await assert.rejects(current.visitStream("x", bad as number, () => {}), (error: unknown) =>
              error instanceof ValidationError && /visitStream/.test(error.message) && error.issues[0].path === "from");
          }
          await assert.rejects(current.visitStream("x", 1, "no" as never), (error: unknown) =>
            error instanceof ValidationError && error.issues[0].path === "visit");
        }
      }, { bufferSize: 4 }));

    test("reads all by global position", () =>
      withStore(async (store) => {
        await store.append("a", [noted(1), noted(2)]);
        await store.append("b", [Tagged.create({ tag: "a" })]);
        await store.append("a", [noted(3)]);
        const all = await store.readAll();
        assert.deepEqual(all.map((e) => [e.position, e.streamId, e.streamVersion]), [
          [1, "a", 1], [2, "a", 2], [3, "b", 1], [4, "a", 3],
        ]);
        assert.deepEqual((await store.readAll({ from: 2, limit: 2 })).map((e) => e.position), [2, 3]);
        assert.deepEqual((await store.readAll({ from: 5 })), []);
      }));

    test("reads older than the event buffer fall through to storage and match", () =>
      withStore(async (store) => {
        for (let i = 1; i <= 20; i++) await store.append(i % 3 ? "x" : "y", [noted(i)]);
        await store.durable();
        assert.equal(store.buffer.oldestPosition, 17);
        const all = await store.readAll();
        assert.deepEqual(all.map((e) => e.position), Array.from({ length: 20 }, (_, i) => i + 1));
        assert.deepEqual(all.map((e) => (e.data as { n: number }).n), Array.from({ length: 20 }, (_, i) => i + 1));
        const y = await store.readStream("y");
        assert.deepEqual(y.map((e) => e.position), [3, 6, 9, 12, 15, 18]);
        assert.deepEqual(y.map((e) => e.streamVersion), [1, 2, 3, 4, 5, 6]);
      }, { bufferSize: 4 }));

    test("a subscription catches up from a position and follows appends in order", () =>
      withStore(async (store) => {
        await store.append("a", [noted(1), noted(2), noted(3)]);
        const seen: number[] = [];
        let notify = () => {};
        const reached = new Promise<void>((resolve) => (notify = resolve));
        const subscription = store.subscribe((event) => {
          seen.push(event.position);
          if (event.position === 5) notify();
        }, { from: 2 });
        await new Promise((resolve) => setTimeout(resolve, 5));
        await store.append("b", [noted(4)]);
        await store.append("a", [noted(5)]);
        await reached;
        subscription.close();
        await subscription.done;
        assert.deepEqual(seen, [2, 3, 4, 5]);
      }));

    test("durable(position) resolves and append acknowledges", () =>
      withStore(async (store) => {
        const result = await store.append("a", [noted(1), noted(2)]);
        await store.durable(result.position);
        assert.ok(store.durablePosition >= 2);
        const appended = await store.append("a", [noted(3)]);
        await store.durable(appended.position);
        assert.ok(store.durablePosition >= 3);
      }));

    test("concurrent appenders on one stream: expected versions hold, nothing lost or duplicated", () =>
      withStore(async (store) => {
        const attempts = Array.from({ length: 50 }, async (_, i) => {
          for (;;) {
            const version = store.streamVersion("counter");
            await Promise.resolve();
            try {
              await store.append("counter", [noted(i)], { expectedVersion: version });
              return;
            } catch (error) {
              if (!(error instanceof ConcurrencyError)) throw error;
            }
          }
        });
        await Promise.all(attempts);
        const events = await store.readStream("counter");
        assert.equal(events.length, 50);
        assert.deepEqual(events.map((e) => (e.data as { n: number }).n).sort((a, b) => a - b),
          Array.from({ length: 50 }, (_, i) => i));
        assert.deepEqual(events.map((e) => e.streamVersion), Array.from({ length: 50 }, (_, i) => i + 1));
      }));

    test("reopening recovers the same streams, versions and positions", () =>
      withStore(async (store, reopen) => {
        await store.append("a", [noted(1), noted(2)]);
        await store.append("b", [Tagged.create({ tag: "c" }, { user: "u1" })]);
        await store.durable();
        const before = await store.readAll();
        const again = await reopen();
        assert.deepEqual(await again.readAll(), before);
        assert.equal(again.streamVersion("a"), 2);
        assert.equal(again.headPosition, 3);
        assert.deepEqual((await again.readAll({ from: 3 }))[0].metadata, { user: "u1" });
        const next = await again.append("a", [noted(3)], { expectedVersion: 2 });
        assert.equal(next.position, 4);
      }));

    test("stored events are upcast to the current schema on read", () =>
      withStore(async (store, reopen) => {
        void store;
        const reopened = await reopen(eventRegistry(PricedV1) as unknown as EventRegistry<TestEvent>);
        await reopened.append("p", [PricedV1.create({ price: 5 })] as unknown as TestEvent[]);
        await reopened.durable();
        const upgraded = await reopen(eventRegistry(PricedV3) as unknown as EventRegistry<TestEvent>);
        const [event] = await upgraded.readStream("p");
        assert.deepEqual(event!.data, { cents: 500, currency: "EUR" });
        const visited: unknown[] = [];
        await upgraded.visitStream("p", 1, (e) => visited.push({ ...e.data as object }));
        assert.deepEqual(visited, [{ cents: 500, currency: "EUR" }]);
      }, { events: eventRegistry(PricedV1) as unknown as EventRegistry<TestEvent> }));

    test("a stored event that no longer validates is rejected naming its position", () =>
      withStore(async (store, reopen) => {
        await store.append("a", [noted(1, "x".repeat(50))]);
        await store.durable();
        await assert.rejects(reopen(eventRegistry(StrictNoted, Tagged) as unknown as EventRegistry<TestEvent>), (error: unknown) =>
          error instanceof ValidationError && /stored event at position 1/.test(error.message) &&
          error.issues[0].path === "data.text");
      }));

    test("event ids: given ones are kept, missing ones are generated, both read back after reopening", () =>
      withStore(async (store, reopen) => {
        await store.append("s", [{ ...noted(1), id: "order-17/placed" }, noted(2)]);
        await store.durable();
        const [given, generated] = await (await reopen()).readStream("s");
        assert.equal(given!.id, "order-17/placed");
        // A UUIDv7 whose first 48 bits are the event's timestamp.
        assert.match(generated!.id ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.equal(parseInt(generated!.id!.slice(0, 13).replace("-", ""), 16), generated!.timestamp);
      }));

    test("appending the same event ids to the same stream again appends nothing and returns the first result", () =>
      withStore(async (store) => {
        const ids = (n: number) => [{ ...noted(n), id: `e-${n}` }, { ...noted(n + 1), id: `e-${n + 1}` }];
        await store.append("s", ids(1), { expectedVersion: "no_stream" });
        await store.append("t", [noted(9)]);
        for (const expectedVersion of ["no_stream", 0, "any", undefined] as const) {
          const again = await store.append("s", ids(1), expectedVersion === undefined ? undefined : { expectedVersion });
          assert.deepEqual([again.firstPosition, again.position, again.streamVersion], [1, 2, 2], String(expectedVersion));
          assert.deepEqual(again.events.map((e) => e.id), ["e-1", "e-2"]);
        }
        assert.equal(store.headPosition, 3);
        // Not a retry: an expected version the first append did not hold, or ids reused for other events.
        await assert.rejects(store.append("s", ids(1), { expectedVersion: 1 }), ConcurrencyError);
        await assert.rejects(store.append("s", [{ ...noted(1), id: "e-1" }, { ...noted(5), id: "e-5" }]), (error: unknown) =>
          error instanceof ValidationError && error.issues[0]!.path === "events[1].id");
        // The same ids in another stream are other events.
        await store.append("u", ids(1));
        assert.equal(store.headPosition, 5);
        // Bad ids change nothing.
        for (const id of ["", 7, "x".repeat(256)]) {
          await assert.rejects(store.append("s", [{ ...noted(3), id } as unknown as TestEvent]), (error: unknown) =>
            error instanceof ValidationError && error.issues[0]!.path === "id");
        }
        await assert.rejects(store.append("v", [{ ...noted(3), id: "d" }, { ...noted(4), id: "d" }]), /given to two events/);
        assert.equal(store.headPosition, 5);
      }));

    test("a retry is recognized past the event buffer when it gives the exact expected version", () =>
      withStore(async (store, reopen) => {
        const retried = [{ ...noted(1), id: "r-1" }];
        await store.append("s", retried, { expectedVersion: 0 });
        for (let i = 0; i < 10; i++) await store.append("other", [noted(i)]);
        await store.durable();
        const reopened = await reopen();
        const again = await reopened.append("s", retried, { expectedVersion: 0 });
        assert.deepEqual([again.position, again.streamVersion, again.events[0]!.id], [1, 1, "r-1"]);
        assert.equal(reopened.headPosition, 11);
      }, { bufferSize: 4 }));

    test("a deleted stream reads as gone, refuses appends, keeps the log's positions, and stays deleted after reopening", () =>
      withStore(async (store, reopen) => {
        await store.append("a", [noted(1), noted(2)]);
        await store.append("b", [noted(3)]);
        await assert.rejects(store.deleteStream("b", { expectedVersion: 0 }), ConcurrencyError);
        await assert.rejects(store.deleteStream("missing"), UnknownStreamError);
        assert.deepEqual(await store.deleteStream("a", { expectedVersion: 2 }), { streamVersion: 3, position: 4 });
        await store.append("b", [noted(5)]);
        if (store.storage.redact !== undefined) {
          // An adapter that erases does so once the tombstone is durable: the contents are gone, the positions stay.
          const erased = await store.storage.read(1, 2);
          assert.deepEqual(erased.map((r) => [r.type, r.data, r.id, r.streamVersion, r.position]), [["$redacted", null, undefined, 1, 1], ["$redacted", null, undefined, 2, 2]]);
        }
        for (const open of [() => store, reopen]) {
          const current = await open();
          assert.equal(current.streamDeleted("a"), true);
          await assert.rejects(current.readStream("a"), (error: unknown) =>
            error instanceof StreamDeletedError && error.code === "STREAM_DELETED" && /"a" was deleted/.test(error.message));
          await assert.rejects(current.append("a", [noted(6)]), StreamDeletedError);
          await assert.rejects(current.visitStream("a", 1, () => {}), StreamDeletedError);
          await assert.rejects(current.deleteStream("a"), StreamDeletedError);
          assert.equal(current.headPosition, 5);
          assert.deepEqual((await current.readAll()).map((e) => [e.position, e.data]), [[3, { text: "note 3", n: 3 }], [5, { text: "note 5", n: 5 }]]);
          assert.deepEqual(current.streamIds(), ["b"]);
        }
      }, { bufferSize: 2 }));

    test("a truncated stream reads from its new first version, and a bad truncation changes nothing", () =>
      withStore(async (store, reopen) => {
        await store.append("s", [noted(1), noted(2), noted(3), noted(4)]);
        assert.deepEqual(await store.truncateStream("s", 3), { streamVersion: 5, position: 5 });
        await store.append("s", [noted(6)], { expectedVersion: 5 });
        for (const bad of [0, 8, 2.5]) {
          await assert.rejects(store.truncateStream("s", bad), (error: unknown) =>
            error instanceof ValidationError && /before/.test(error.message));
        }
        for (const open of [() => store, reopen]) {
          const current = await open();
          assert.equal(current.headPosition, 6);
          assert.equal(current.streamFirstVersion("s"), 3);
          assert.deepEqual((await current.readStream("s")).map((e) => e.streamVersion), [3, 4, 6]);
          assert.deepEqual((await current.readStream("s", { direction: "backwards", limit: 2 })).map((e) => e.streamVersion), [6, 4]);
          assert.deepEqual((await current.readAll({ limit: 2 })).map((e) => e.position), [3, 4]);
          const chunks = [];
          for await (const chunk of current.readStreamChunks("s")) chunks.push(...chunk.map((e) => e.streamVersion));
          assert.deepEqual(chunks, [3, 4, 6]);
          const visited: number[] = [];
          await current.visitStream("s", 1, (e) => visited.push(e.streamVersion));
          assert.deepEqual(visited, [3, 4, 6]);
        }
      }, { bufferSize: 2 }));

    test("a closed store refuses appends and reads with ClosedError", () =>
      withStore(async (store) => {
        await store.append("a", [noted(1)]);
        await store.close();
        await assert.rejects(store.append("a", [noted(2)]), (error: unknown) =>
          error instanceof ClosedError && error.code === "CLOSED");
        await assert.rejects(store.readAll(), ClosedError);
      }));
  });
}
