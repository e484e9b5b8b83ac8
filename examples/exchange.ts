/**
 * The main demo: a matching engine on the durable WAL.
 *
 *   deno run -A examples/exchange.ts [--commands N] [--seed S] [--dir PATH]
 *   bun run examples/exchange.ts [...]
 *
 * Builds a book, streams a seeded exchange-core mix of orders through the engine with
 * the durable (group-committed) WAL, acknowledging each batch of 1,000 only once it is
 * durable (matching goes on while earlier batches wait for the disk); prints throughput, the top of the book and the last trades; then closes,
 * reopens the directory, recovers, and checks that the state hash matches.
 */
import process from "node:process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectRuntime, fileStorage } from "../src/adapter/file/index.ts";
import { bookDepth, exchangeCoreMix, marketDataProjection, orderBookCodecs, OrderBookEngine } from "../src/orderbook/index.ts";

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const runtime = `${detectRuntime()} ${process.versions[detectRuntime()]}`;
const commands = option("commands", 500_000);
const seed = option("seed", 42);
const dirAt = process.argv.indexOf("--dir");
const directory = dirAt < 0 ? mkdtempSync(join(tmpdir(), "eventfold-exchange-")) : process.argv[dirAt + 1];
const keep = dirAt >= 0;
const tty = process.stdout.isTTY;

console.log(`eventfold exchange demo on ${runtime}: ${commands.toLocaleString("en")} commands (exchange-core mix, seed ${seed})`);
const workload = await exchangeCoreMix(commands, seed);
const symbol = workload.instrument.symbol;
const open = (marketData = marketDataProjection(5)) =>
  OrderBookEngine.open({
    instruments: [workload.instrument],
    storage: fileStorage(directory, { durability: "durable", codecs: orderBookCodecs }),
    snapshotEvery: 250_000,
    projections: [marketData],
  });

const marketData = marketDataProjection(5);
const engine = await open(marketData);
for (const command of workload.setup) engine.submitValidated(command);
await engine.durable();

const started = performance.now();
const batch = 1_000;
// The engine does not wait for the disk: each batch's acknowledgement waits for the
// fdatasync that covers it, while the next batches are already being matched. At most
// `window` batches are unacknowledged at once (the backpressure a gateway would apply).
const window = 8;
const pending: Promise<void>[] = [];
let acknowledged = 0;
for (let i = 0; i < workload.commands.length; i += batch) {
  const end = Math.min(i + batch, workload.commands.length);
  let position = 0;
  for (let j = i; j < end; j++) position = engine.submitValidated(workload.commands[j]).position;
  const size = end - i;
  pending.push(engine.store.durable(position).then(() => void (acknowledged += size)));
  if (pending.length >= window) await pending.shift();
  if (tty && (i / batch) % 50 === 0) process.stdout.write(`\r  ${acknowledged.toLocaleString("en")} / ${commands.toLocaleString("en")} acknowledged durable`);
}
await Promise.all(pending);
const seconds = (performance.now() - started) / 1000;
if (tty) process.stdout.write("\r\x1b[2K");
const events = engine.store.headPosition;
console.log(`processed ${commands.toLocaleString("en")} commands -> ${events.toLocaleString("en")} events in ${seconds.toFixed(2)} s: ` +
  `${Math.round(commands / seconds).toLocaleString("en")} commands/s, ${acknowledged.toLocaleString("en")} acknowledged, each after the fdatasync covering it`);

const depth = bookDepth(engine.book(symbol), 5);
console.log(`\ntop of the ${symbol} book (${engine.book(symbol).orders.size} resting orders):`);
console.log("      bid qty   bid price | ask price   ask qty");
for (let i = 0; i < 5; i++) {
  const bid = depth.bids[i];
  const ask = depth.asks[i];
  console.log(`  ${String(bid?.quantity ?? "").padStart(11)} ${String(bid?.price ?? "").padStart(11)} | ${String(ask?.price ?? "").padEnd(9)} ${String(ask?.quantity ?? "").padStart(9)}`);
}
console.log("\nlast trades:");
for (const trade of marketData.trades(`book-${symbol}`, 5)) {
  console.log(`  #${trade.position} ${trade.takerSide} ${trade.quantity} @ ${trade.price} (maker ${trade.makerOrderId}, taker ${trade.takerOrderId})`);
}

const hash = await engine.stateHash(symbol);
await engine.close();

const reopenStarted = performance.now();
const recovered = await open();
const recoveredHash = await recovered.stateHash(symbol);
const reopenSeconds = (performance.now() - reopenStarted) / 1000;
console.log(`\nstate hash ${hash.slice(0, 16)}…`);
if (recoveredHash !== hash) {
  console.error(`recovered ${recovered.store.headPosition} events, but the state hash DIFFERS: ${recoveredHash}`);
  process.exitCode = 1;
} else {
  console.log(`recovered ${recovered.store.headPosition.toLocaleString("en")} events in ${reopenSeconds.toFixed(2)} s, state hash matches`);
}
await recovered.close();
if (!keep) rmSync(directory, { recursive: true, force: true });
