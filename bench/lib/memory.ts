/**
 * Memory: live heap and typed arrays per resting order (ours next to nodejs-order-book),
 * and live heap / RSS sampled over a long durable run, which must stay flat because the
 * event buffer and the WAL ring are bounded. Live heap is read after a forced full
 * collection (Bun.gc, or V8's gc under `deno run --v8-flags=--expose-gc`).
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { OrderBook as PeerOrderBook } from "nodejs-order-book";
import { fileStorage } from "../../src/adapter/file/index.ts";
import {
  ExchangeCoreMixGenerator,
  type OrderCommand,
  orderBookCodecs,
  OrderBookEngine,
  stateHash,
  WORKLOAD_INSTRUMENT,
} from "../../src/orderbook/index.ts";
import { ACK_BATCH, DurableAcks } from "./engine-bench.ts";
import { progress } from "./stats.ts";
import { scriptCommand } from "../../test/support/runtime.ts";

export function collectGarbage(): void {
  // deno-lint-ignore no-explicit-any
  const global = globalThis as any;
  if (global.Bun) global.Bun.gc(true);
  else if (typeof global.gc === "function") global.gc();
  else throw new Error("cannot force garbage collection: run deno with --v8-flags=--expose-gc, node with --expose-gc");
}

function liveHeap(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/**
 * Live heap plus the typed arrays' memory (the order book's columns live there). V8 (Deno,
 * Node) keeps array buffers out of `heapUsed` and reports them as `external`;
 * JavaScriptCore (Bun) counts them in `heapUsed` and reports them in `external` as well.
 */
function liveMemory(): number {
  const heap = liveHeap();
  return process.versions.bun === undefined ? heap + process.memoryUsage().external : heap;
}

export interface HeapPerOrder {
  system: string;
  restingOrders: number;
  bytesPerOrder: number;
  rssMegabytes: number;
}

/** Non-crossing GTC orders: bids below the mid, asks above, over 2 x 5,000 levels. */
function restingOrder(i: number): OrderCommand {
  const side = i % 2 === 0 ? "buy" : "sell";
  const offset = 1 + ((i >> 1) % 5_000);
  return {
    type: "place", symbol: WORKLOAD_INSTRUMENT.symbol, orderId: i + 1, account: 1 + (i % 1000), side, kind: "limit",
    price: side === "buy" ? 100_000 - offset : 100_000 + offset, quantity: 1 + (i % 100), timeInForce: "GTC",
    postOnly: false, selfTrade: "allow",
  };
}

/** Ours: the engine on the async WAL (the log lives on disk; the buffer is bounded). */
async function oursPerRestingOrder(count: number, directory: string): Promise<HeapPerOrder> {
  const engine = await OrderBookEngine.open({
    instruments: [WORKLOAD_INSTRUMENT],
    storage: fileStorage(directory, { durability: "async", codecs: orderBookCodecs }),
  });
  engine.submitValidated(restingOrder(count)); // warm the structures before the baseline
  const before = liveMemory();
  for (let i = 0; i < count; i++) engine.submitValidated(restingOrder(i));
  const result = {
    system: "eventfold engine (async WAL)",
    restingOrders: engine.book(WORKLOAD_INSTRUMENT.symbol).orders.size - 1,
    bytesPerOrder: Math.round((liveMemory() - before) / count),
    rssMegabytes: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  await engine.close();
  return result;
}

function peerPerRestingOrder(count: number): HeapPerOrder {
  const peer = new PeerOrderBook();
  const before = liveMemory();
  for (let i = 0; i < count; i++) {
    const command = restingOrder(i) as Extract<OrderCommand, { type: "place" }>;
    peer.limit({ side: command.side as never, id: String(command.orderId), size: command.quantity, price: command.price! });
  }
  const bytesPerOrder = Math.round((liveMemory() - before) / count);
  // Using the book after the measurement keeps it alive through it.
  if (peer.order(String(count)) === undefined) throw new Error("nodejs-order-book lost a resting order");
  return { system: "nodejs-order-book", restingOrders: count, bytesPerOrder, rssMegabytes: Math.round(process.memoryUsage().rss / 2 ** 20) };
}

/** Each book is built in its own function, so it is garbage before the other is measured. */
export async function heapPerRestingOrder(count: number, directory: string): Promise<HeapPerOrder[]> {
  const ours = await oursPerRestingOrder(count, directory);
  const peer = peerPerRestingOrder(count);
  return [ours, peer];
}

export interface HeapSample {
  commands: number;
  heapMegabytes: number;
  rssMegabytes: number;
}

export interface LongRunResult {
  commands: number;
  events: number;
  ordersPerSecond: number;
  samples: HeapSample[];
  /** Live heap growth from the first sample to the last, in percent. */
  heapGrowthPercent: number;
  directory: string;
  stateHash: string;
}

/**
 * `commands` of the exchange-core mix, generated as they go against the engine under test
 * (no command list held in memory), on the durable WAL with batch acknowledgements.
 */
export async function longDurableRun(commands: number, directory: string, samples = 10): Promise<LongRunResult> {
  const engine = await OrderBookEngine.open({
    instruments: [WORKLOAD_INSTRUMENT],
    storage: fileStorage(directory, { durability: "durable", codecs: orderBookCodecs }),
  });
  const generator = new ExchangeCoreMixGenerator(engine, 7);
  generator.fill();
  await engine.durable();
  const acks = new DurableAcks(engine.store);
  const every = Math.max(ACK_BATCH, Math.floor(commands / samples / ACK_BATCH) * ACK_BATCH);
  const taken: HeapSample[] = [];
  let busySeconds = 0;
  let started = performance.now();
  for (let i = 0; i < commands; i += ACK_BATCH) {
    const end = Math.min(commands, i + ACK_BATCH);
    for (let j = i; j < end; j++) generator.step();
    acks.batch(end, engine.store.headPosition);
    acks.waitUntilPending(7);
    if (end % every === 0 || end === commands) {
      acks.waitUntilPending(0);
      busySeconds += (performance.now() - started) / 1000;
      const heap = liveHeap();
      taken.push({ commands: end, heapMegabytes: heap / 2 ** 20, rssMegabytes: process.memoryUsage().rss / 2 ** 20 });
      progress(`long durable run: ${end.toLocaleString("en")} / ${commands.toLocaleString("en")} commands, heap ${(heap / 2 ** 20).toFixed(1)} MB`);
      started = performance.now();
    }
  }
  acks.waitUntilPending(0);
  busySeconds += (performance.now() - started) / 1000;
  const hash = await engine.stateHash(WORKLOAD_INSTRUMENT.symbol);
  const events = engine.store.headPosition;
  await engine.close();
  const first = taken[0].heapMegabytes;
  const last = taken[taken.length - 1].heapMegabytes;
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    commands,
    events,
    ordersPerSecond: Math.round(commands / busySeconds),
    samples: taken.map((sample) => ({ commands: sample.commands, heapMegabytes: round(sample.heapMegabytes), rssMegabytes: round(sample.rssMegabytes) })),
    heapGrowthPercent: round(((last - first) / first) * 100),
    directory,
    stateHash: hash,
  };
}

export interface RecoveryResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  stateHashMatches: boolean;
}

/** Reopens a WAL directory with no snapshot, in this process: every event is read, checked and folded. */
export async function measureRecovery(directory: string, expectedHash: string): Promise<RecoveryResult> {
  const started = performance.now();
  const engine = await OrderBookEngine.open({
    instruments: [WORKLOAD_INSTRUMENT],
    storage: fileStorage(directory, { durability: "durable", codecs: orderBookCodecs }),
  });
  const seconds = (performance.now() - started) / 1000;
  const events = engine.store.headPosition;
  const hash = await stateHash(engine.book(WORKLOAD_INSTRUMENT.symbol));
  await engine.close();
  return { events, seconds: Math.round(seconds * 1000) / 1000, eventsPerSecond: Math.round(events / seconds), stateHashMatches: hash === expectedHash };
}

/**
 * Recovery as a restart meets it: measureRecovery in a new process of this runtime
 * (bench/recover.ts), its code not yet compiled. Measured in the suite's own process, it
 * was the figure of a heap and of compiled code shaped by every benchmark before it: on
 * Node 0.65 M events/s, against 1.3-1.7 M/s for the same log opened in a new process.
 */
export function benchRecovery(directory: string, expectedHash: string): RecoveryResult {
  const [command, args] = scriptCommand("bench/recover.ts", [directory, expectedHash]);
  const child = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (child.error !== undefined) throw child.error;
  if (child.status !== 0) throw new Error(`recovering ${directory} in a new process failed (exit status ${child.status})`);
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as RecoveryResult;
}
