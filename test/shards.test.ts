/**
 * Symbols sharded over exchange processes on NATS (the machine's server): the router sends
 * each symbol's commands to the shard serving it, outcomes come back in order once
 * replicated, market data fans out per symbol; and the same through the CLI.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { join } from "node:path";
import { StorageError, ValidationError } from "../mod.ts";
import { fileStorage } from "../src/adapter/file/index.ts";
import { type MarketData, natsLog, replicatedStorage, Router, serveShard } from "../src/adapter/nats/index.ts";
import { orderBookCodecs, OrderBookEngine } from "../src/orderbook/index.ts";
import { temporaryDirectory } from "./support/temp.ts";
import { NATS_URL, removeStream, streamName } from "./support/nats.ts";
import { scriptCommand } from "./support/runtime.ts";

/** An engine for `symbols` on a WAL in `directory`, replicated to a fresh stream. */
async function shardEngine(directory: string, symbols: string[]) {
  const stream = streamName("shard");
  const engine = await OrderBookEngine.open({
    instruments: symbols.map((symbol) => ({ symbol, tickSize: 1, lotSize: 1 })),
    storage: replicatedStorage(fileStorage(directory, { codecs: orderBookCodecs }), natsLog({ servers: NATS_URL, stream })),
  });
  return { engine, stream };
}

const place = (symbol: string, orderId: number, side: "buy" | "sell", price: number, quantity = 1) => ({
  type: "place" as const,
  symbol,
  orderId,
  account: orderId,
  side,
  price,
  quantity,
});

test("shards: the router sends each symbol's commands to its shard; outcomes in order, once replicated; market data per symbol", async () => {
  const dir = temporaryDirectory();
  const exchange = streamName("x");
  const a = await shardEngine(join(dir.path, "a"), ["AAA", "BBB"]);
  const b = await shardEngine(join(dir.path, "b"), ["CCC"]);
  const shards = [await serveShard({ servers: NATS_URL, exchange, engine: a.engine }), await serveShard({ servers: NATS_URL, exchange, engine: b.engine })];
  const router = await Router.connect({ servers: NATS_URL, exchange });
  const seen: MarketData[] = [];
  const stop = router.marketData("CCC", (data) => seen.push(data));
  await new Promise((resume) => setTimeout(resume, 100)); // the subscription reaches the server

  const outcomes = await router.submit([
    place("AAA", 1, "sell", 10),
    place("CCC", 2, "sell", 20),
    place("BBB", 3, "buy", 5),
    place("CCC", 4, "buy", 20),
    place("AAA", 5, "buy", 10),
    { type: "cancel", symbol: "BBB", orderId: 99 },
  ]);
  assert.deepEqual(outcomes.map((o) => o.ok ? o.events.map((e) => e.type) : `error: ${o.error}`), [
    ["OrderAccepted"],
    ["OrderAccepted"],
    ["OrderAccepted"],
    ["OrderAccepted", "TradeExecuted"],
    ["OrderAccepted", "TradeExecuted"],
    ["OrderRejected"],
  ]);
  // Positions are each shard's own: AAA and BBB share one log (AAA's request first: its
  // two commands took 1 and 2..3, then BBB's 4 and 5), CCC has another.
  assert.deepEqual(outcomes.map((o) => o.ok && o.position), [1, 1, 4, 3, 3, 5]);
  // Each shard holds its own symbols' events only, and acknowledged them replicated.
  assert.deepEqual([...a.engine.store.streamIds()].sort(), ["book-AAA", "book-BBB"]);
  assert.deepEqual([...b.engine.store.streamIds()], ["book-CCC"]);
  assert.equal(b.engine.store.durablePosition, b.engine.store.headPosition);
  // Market data of CCC: the events of its two commands, as the outcomes had them.
  while (seen.length === 0) await new Promise((resume) => setTimeout(resume, 20));
  assert.deepEqual(seen.flatMap((data) => data.events), [...(outcomes[1] as { events: unknown[] }).events, ...(outcomes[3] as { events: unknown[] }).events]);

  // A symbol no shard serves: a clear error, not a hang; a bad command: a ValidationError's outcome.
  await assert.rejects(router.submit([place("ZZZ", 1, "buy", 1)]), (error: unknown) => error instanceof StorageError && /no shard answered for ZZZ/.test(error.message));
  const [bad] = await router.submit([{ type: "place", symbol: "AAA", orderId: 7 } as never]);
  assert.equal(bad!.ok, false);
  assert.equal((bad as { code: string }).code, "VALIDATION");
  await assert.rejects(Router.connect({ exchange: "a b" }), ValidationError);

  stop();
  await router.close();
  for (const shard of shards) await shard.close();
  await a.engine.close();
  await b.engine.close();
  await removeStream(natsLog({ servers: NATS_URL, stream: a.stream }));
  await removeStream(natsLog({ servers: NATS_URL, stream: b.stream }));
  dir.remove();
});

test("shards: eventfold shard serves symbols (uncompressed here), eventfold submit routes commands to it", async () => {
  const dir = temporaryDirectory();
  const exchange = streamName("x");
  const stream = streamName("shard");
  const shardArgs = ["shard", join(dir.path, "wal"), "--exchange", exchange, "--symbols", "AAA,BBB", "--stream", stream, "--servers", NATS_URL];
  // A bad --compression is refused before anything is opened.
  const refused = spawnSync(...scriptCommand("src/cli/main.ts", [...shardArgs, "--compression", "gzip"]), { encoding: "utf8" });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /--compression must be deflate or none, got "gzip"/);
  const [command, args] = scriptCommand("src/cli/main.ts", [...shardArgs, "--compression", "none"]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<[number | null, string | null]>((resolve) => child.once("exit", (code, signal) => resolve([code, signal])));
  try {
    while (!/serving AAA,BBB/.test(output)) {
      assert.equal(child.exitCode, null, output);
      await new Promise((resume) => setTimeout(resume, 50));
    }
    const [submitCommand, submitArgs] = scriptCommand("src/cli/main.ts", [
      "submit", "--exchange", exchange, "--servers", NATS_URL, JSON.stringify(place("AAA", 1, "sell", 10)), JSON.stringify(place("AAA", 2, "buy", 10)),
    ]);
    const submitted = spawnSync(submitCommand, submitArgs, { encoding: "utf8" });
    assert.equal(submitted.status, 0, submitted.stderr);
    const lines = submitted.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((outcome) => outcome.events.map((e: { type: string }) => e.type)), [
      ["OrderAccepted"],
      ["OrderAccepted", "TradeExecuted"],
    ]);
    // Replicated as the WAL encodes it: no Eventfold-Encoding header on the shard's last batch.
    const connection = await connect({ servers: NATS_URL });
    try {
      const jsm = await jetstreamManager(connection);
      const { state } = await jsm.streams.info(stream);
      const last = await jsm.streams.getMessage(stream, { seq: state.last_seq });
      assert.ok(last!.data.length > 0);
      assert.equal(last!.header.get("Eventfold-Encoding"), "");
    } finally {
      await connection.close();
    }
  } finally {
    child.kill("SIGTERM");
    const [code, signal] = await exited;
    // Deno's child_process reports the signal it sent even when the child handled it and exited 0.
    assert.ok(code === 0 || ("Deno" in globalThis && signal === "SIGTERM"), `exit ${code} ${signal}: ${output}`);
    assert.match(output, /stopped at position 3/);
    await removeStream(natsLog({ servers: NATS_URL, stream }));
    dir.remove();
  }
});
