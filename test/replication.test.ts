/**
 * Replication over NATS JetStream (the machine's server, a stream per test; a throwaway
 * nats-server where a test stops it): the replicated mode's acknowledgements, a follower
 * applying the log to its own WAL and store, promotion, fencing of a deposed primary,
 * and the log going away and coming back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { scriptCommand } from "./support/runtime.ts";
import { EventStore, FencedError, StorageError, ValidationError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { Follower, natsLog, type NatsLog, replicatedStorage } from "../src/adapter/nats/index.ts";
import { noted, type TestEvent, testEvents } from "./support/fixtures.ts";
import { temporaryDirectory } from "./support/temp.ts";
import fc from "fast-check";
import { marketDataProjection, orderBookCodecs, OrderBookEngine, type OrderBookEvent, OrderCommand } from "../src/orderbook/index.ts";
import { LOT, orderCommand, SYMBOL, TICK } from "./support/order-commands.ts";
import { freePort, freshLog, NATS_URL, NatsServer, removeStream, streamName } from "./support/nats.ts";

/** A primary store on a WAL in `directory`, replicated to `log`. */
async function primary(directory: string, log: NatsLog, timeoutMs = 2000): Promise<EventStore<TestEvent>> {
  const store = new EventStore({ events: testEvents(), storage: replicatedStorage(fileStorage(directory), log, { timeoutMs }) });
  await store.open();
  return store;
}

/** A follower on a WAL in `directory`, started. */
async function follower(directory: string, log: NatsLog): Promise<{ follower: Follower<TestEvent>; store: EventStore<TestEvent> }> {
  const follower = new Follower<TestEvent>({ log, local: fileStorage(directory), replication: { timeoutMs: 2000 } });
  const store = new EventStore({ events: testEvents(), storage: follower.storage });
  await store.open();
  await follower.start(store);
  return { follower, store };
}

/** Another connection to the same stream as `log`. */
function freshLogNamed(log: NatsLog): NatsLog {
  return natsLog({ servers: NATS_URL, stream: log.name.replace(/^nats stream /, ""), timeoutMs: 2000 });
}

/** The last batch of `log`'s stream, read on a connection of its own. */
async function lastBatch(log: NatsLog) {
  const reader = freshLogNamed(log);
  await reader.open();
  try {
    return (await reader.last())!;
  } finally {
    await reader.close();
  }
}

const summary = (events: { position: number; streamId: string; streamVersion: number; data: unknown; timestamp: number }[]) =>
  events.map((e) => [e.position, e.streamId, e.streamVersion, (e.data as { n: number }).n, e.timestamp]);

test("replicated: appends are acknowledged once the log holds them, one batch per group, and a follower applies them", async () => {
  const dir = temporaryDirectory();
  const log = freshLog();
  const store = await primary(join(dir.path, "a"), log);
  assert.equal(store.durability, "replicated");
  await store.append("s", [noted(1), noted(2)]);
  const many = Array.from({ length: 300 }, (_, i) => store.append(`s${i % 3}`, [noted(i)]));
  await Promise.all(many);
  // The log holds every acknowledged position, in fewer batches than appends.
  const last = (await log.last())!;
  assert.equal(last.last, 302);
  assert.ok(last.sequence < 100, `${last.sequence} batches for 301 appends`);
  assert.equal(store.durablePosition, 302);

  const b = await follower(join(dir.path, "b"), freshLogNamed(log));
  await b.follower.caughtUp();
  assert.equal(b.store.headPosition, 302);
  assert.deepEqual(summary(await b.store.readAll()), summary(await store.readAll()));
  // Live: what the primary appends next reaches the follower.
  await store.append("s", [noted(400)], { expectedVersion: 2 });
  await b.follower.caughtUp();
  assert.deepEqual(summary(await b.store.readStream("s")), summary(await store.readStream("s")));
  // A follower takes no appends of its own.
  assert.throws(() => b.store.enqueue("s", [noted(5)]), (error: unknown) => error instanceof StorageError && /follows/.test(error.message));

  await b.follower.stop();
  await b.store.close();
  await store.close();
  await removeStream(freshLogNamed(log));
  dir.remove();
});


test("replicated: while a batch is in flight, small ones wait for it and go as one message", async () => {
  const dir = temporaryDirectory();
  const log = freshLog();
  const sent: number[] = []; // records per message
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const append = log.append.bind(log);
  log.append = async (batch, after) => {
    if (batch.bytes.length === 0) return await append(batch, after); // the term's marker
    sent.push(batch.last - batch.first + 1);
    if (sent.length === 1) await gate; // the first batch stays in flight until released
    return await append(batch, after);
  };
  const store = await primary(join(dir.path, "a"), log);
  const storage = store.storage as ReturnType<typeof replicatedStorage>;
  const first = store.append("s", [noted(0)]);
  while (sent.length === 0) await new Promise((resume) => setTimeout(resume, 1));
  try {
    for (let i = 1; i <= 10; i++) await storage.local.whenDurable(store.enqueue("s", [noted(i)]).position);
    await new Promise((resume) => setTimeout(resume, 50));
    assert.deepEqual(sent, [1], "nothing follows the batch in flight while it is small");
  } finally {
    release();
  }
  await first;
  await store.durable(11);
  assert.deepEqual(sent, [1, 10]);
  await store.close();
  await removeStream(freshLogNamed(log));
  dir.remove();
});

test("replicated: a primary and a follower on sync-mode WALs (the writer on the caller's thread) replicate every append, uncompressed", async () => {
  const dir = temporaryDirectory();
  const log = freshLog({ compression: "none" });
  const store = new EventStore({
    events: testEvents(),
    storage: replicatedStorage(fileStorage(join(dir.path, "a"), { durability: "sync" }), log, { timeoutMs: 2000 }),
  });
  await store.open();
  const follower = new Follower<TestEvent>({ log: freshLogNamed(log), local: fileStorage(join(dir.path, "b"), { durability: "sync" }) });
  const standby = new EventStore({ events: testEvents(), storage: follower.storage });
  await standby.open();
  await follower.start(standby);
  try {
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(`s${i % 4}`, [noted(i), noted(i + 100)])));
    assert.equal(store.durablePosition, 100);
    assert.equal((await log.last())!.last, 100);
    await follower.caughtUp();
    assert.deepEqual(summary(await standby.readAll()), summary(await store.readAll()));
  } finally {
    await follower.stop();
    await standby.close();
    await store.close();
    await removeStream(freshLogNamed(log));
    dir.remove();
  }
});

test("replicated: a promoted follower continues the positions; the old primary, alive or restarted, is fenced", async () => {
  const dir = temporaryDirectory();
  const log = freshLog();
  const a = await primary(join(dir.path, "a"), log);
  for (let i = 0; i < 50; i++) await a.append(`s${i % 4}`, [noted(i)]);
  const b = await follower(join(dir.path, "b"), freshLogNamed(log));
  await b.follower.caughtUp();

  await b.follower.promote();
  const result = await b.store.append("s0", [noted(50)]);
  assert.equal(result.position, 51);
  assert.equal(result.streamVersion, 14);
  const last = await lastBatch(log);
  assert.equal(last.term, 2);
  assert.equal(last.last, 51);

  // The old primary is still running: its next append is refused by the log.
  const refused = await a.append("s1", [noted(99)]).then(() => "acknowledged", (error) => error);
  assert.ok(refused instanceof FencedError, String(refused));
  assert.throws(() => a.enqueue("s1", [noted(100)]), FencedError);
  await a.close();
  // Restarted, it is refused at open (its log also has an append the new primary lacks).
  await assert.rejects(primary(join(dir.path, "a"), freshLogNamed(log)), FencedError);
  // Nothing of it reached the log: the new primary's log is the log.
  assert.deepEqual(summary(await b.store.readAll()).map(([position]) => position), Array.from({ length: 51 }, (_, i) => i + 1));

  await b.store.close();
  await removeStream(freshLogNamed(log));
  dir.remove();
});

test("replicated: a primary that stopped cleanly resumes its own term when restarted", async () => {
  const dir = temporaryDirectory();
  const log = freshLog();
  let store = await primary(join(dir.path, "a"), log);
  await store.append("s", [noted(1)]);
  await store.close();
  store = await primary(join(dir.path, "a"), freshLogNamed(log));
  await store.append("s", [noted(2)], { expectedVersion: 1 });
  const last = await lastBatch(log);
  assert.equal(last.term, 1);
  assert.equal(last.last, 2);
  await store.close();
  await removeStream(freshLogNamed(log));
  dir.remove();
});

test("replicated: with the log down, acknowledgements reject after the bound, the local WAL goes on, and sending resumes when it is back", async () => {
  const dir = temporaryDirectory();
  const server = new NatsServer("solo", await freePort(), join(dir.path, "nats"));
  await server.start();
  const log = natsLog({ servers: server.url, stream: streamName(), timeoutMs: 1000 });
  const store = await primary(join(dir.path, "a"), log, 1500);
  await store.append("s", [noted(1)]);
  await server.kill();
  const failed = await store.append("s", [noted(2)]).then(() => "acknowledged", (error) => error);
  assert.ok(failed instanceof StorageError && /not replicated/.test(failed.message), String(failed));
  // Durable here all the same, and the store takes more appends.
  assert.equal((await store.readStream("s")).length, 2);
  const pending = store.append("s", [noted(3)]);
  await server.start();
  await pending; // sent once the log answers again (within its bound)
  assert.equal(store.durablePosition, 3);
  await store.close();
  const check = natsLog({ servers: server.url, stream: log.name.replace(/^nats stream /, "") });
  await check.open();
  assert.equal((await check.last())!.last, 3);
  await check.remove();
  await check.close();
  await server.kill();
  dir.remove();
});

test("replicated: bad options are refused with a ValidationError naming them", () => {
  assert.throws(() => natsLog({ stream: "a b" }), (error: unknown) => error instanceof ValidationError && /stream/.test(error.message));
  assert.throws(() => natsLog({ stream: "ok", replicas: 7 }), (error: unknown) => error instanceof ValidationError && /replicas/.test(error.message));
  assert.throws(() => natsLog({ stream: "ok", speed: 1 } as never), ValidationError);
  const dir = temporaryDirectory();
  assert.throws(
    () => replicatedStorage(fileStorage(dir.path), natsLog({ stream: "ok" }), { timeoutMs: 0 }),
    (error: unknown) => error instanceof ValidationError && /timeoutMs/.test(error.message),
  );
  dir.remove();
});

test("replicated: an order-book engine following a primary engine has its state hash and market data; promoted, it takes commands", async () => {
  const dir = temporaryDirectory();
  const log = freshLog();
  const instruments = [{ symbol: SYMBOL, tickSize: TICK, lotSize: LOT }];
  const primaryData = marketDataProjection();
  const engine = await OrderBookEngine.open({
    instruments,
    storage: replicatedStorage(fileStorage(join(dir.path, "a"), { codecs: orderBookCodecs }), log),
    projections: [primaryData],
  });
  const commands = fc.sample(orderCommand, { seed: 7, numRuns: 1500 });
  for (const input of commands.slice(0, 1000)) engine.submitValidated(OrderCommand.parse(input));
  await engine.durable();

  const follower = new Follower<OrderBookEvent>({ log: freshLogNamed(log), local: fileStorage(join(dir.path, "b"), { codecs: orderBookCodecs }) });
  const standbyData = marketDataProjection();
  const standby = await OrderBookEngine.open({ instruments, storage: follower.storage, projections: [standbyData] });
  await follower.start(standby.store, { keepLive: [standby.handler] });
  for (const input of commands.slice(1000)) engine.submitValidated(OrderCommand.parse(input));
  await engine.durable();
  await follower.caughtUp();
  assert.equal(standby.store.headPosition, engine.store.headPosition);
  assert.equal(await standby.stateHash(SYMBOL), await engine.stateHash(SYMBOL));
  assert.deepEqual(standbyData.depth(`book-${SYMBOL}`, 20), primaryData.depth(`book-${SYMBOL}`, 20));

  await engine.close();
  await follower.promote();
  const placed = standby.submit({ type: "place", symbol: SYMBOL, orderId: 1_000_000, account: 9, side: "buy", price: TICK, quantity: LOT });
  assert.equal(placed.events[0]!.position, engine.store.headPosition + 1);
  await standby.durable();
  await standby.close();
  await removeStream(freshLogNamed(log));
  dir.remove();
});

test("replicated: eventfold promote takes a standby WAL over; the application started on it resumes the term, the old primary is refused", async () => {
  const dir = temporaryDirectory();
  const log = freshLog();
  const stream = log.name.replace(/^nats stream /, "");
  const a = await primary(join(dir.path, "a"), log);
  for (let i = 0; i < 20; i++) await a.append(`s${i % 2}`, [noted(i)]);
  await a.close();

  const [command, args] = scriptCommand("src/cli/main.ts", ["promote", join(dir.path, "b"), "--stream", stream, "--servers", NATS_URL]);
  const promoted = spawnSync(command, args, { encoding: "utf8" });
  assert.equal(promoted.status, 0, promoted.stderr);
  assert.match(promoted.stdout, /promoted: .* term 2 .* at position 20/);

  const b = await primary(join(dir.path, "b"), freshLogNamed(log));
  assert.equal((await b.append("s0", [noted(20)])).position, 21);
  assert.equal((await lastBatch(log)).term, 2);
  await assert.rejects(primary(join(dir.path, "a"), freshLogNamed(log)), FencedError);
  await b.close();
  await removeStream(freshLogNamed(log));
  dir.remove();
});

test("replicated: eventfold follow keeps a standby WAL up to date until stopped", async () => {
  const dir = temporaryDirectory();
  const log = freshLog();
  const stream = log.name.replace(/^nats stream /, "");
  const a = await primary(join(dir.path, "a"), log);
  for (let i = 0; i < 10; i++) await a.append("s", [noted(i)]);
  const [command, args] = scriptCommand("src/cli/main.ts", ["follow", join(dir.path, "b"), "--stream", stream, "--servers", NATS_URL]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<[number | null, string | null]>((resolve) => child.once("exit", (code, signal) => resolve([code, signal])));
  while (!/caught up at position 10/.test(output)) {
    assert.equal(child.exitCode, null, output);
    await new Promise((resume) => setTimeout(resume, 50));
  }
  for (let i = 10; i < 25; i++) await a.append("s", [noted(i)]);
  await new Promise((resume) => setTimeout(resume, 500));
  child.kill("SIGTERM");
  const [code, signal] = await exited;
  // Deno's child_process reports the signal it sent even when the child handled it and
  // exited 0: the child's own last line says it stopped cleanly.
  assert.ok(code === 0 || ("Deno" in globalThis && signal === "SIGTERM"), `exit ${code} ${signal}: ${output}`);
  assert.match(output, /stopped at position 25/);
  await a.close();
  // The standby's WAL holds the primary's log.
  const b = await follower(join(dir.path, "b"), freshLogNamed(log));
  assert.equal(b.store.headPosition, 25);
  await b.follower.stop();
  await b.store.close();
  await removeStream(freshLogNamed(log));
  dir.remove();
});
