/**
 * Seeded command streams for the demo and the benchmarks, identical on every runtime:
 *
 * - `exchangeCoreMix`: exchange-core's benchmark mix (9% GTC place, 3% IOC, 6% cancel,
 *   82% move) around ~1,000 resting orders over ~750 price levels. As in exchange-core,
 *   the stream is generated against a live book (here our own engine in memory) so cancels
 *   and moves name orders that are really resting; the benchmark then replays the list.
 * - `exchangeCoreCrossingMix`: the same proportions, but a move sends its order anywhere
 *   within 375 ticks of the mid, so many moves cross the spread and trade: a harder mix,
 *   with more events per command.
 * - `crossingLimitStream`: plain limit orders around a fixed mid that cross often.
 */
import type { OrderCommand } from "./commands.ts";
import { OrderBookEngine } from "./engine.ts";
import type { Instrument } from "./types.ts";

/** mulberry32: a small, fast, seedable 32-bit generator (ample for workloads). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** The instrument of the seeded workloads. */
export const WORKLOAD_INSTRUMENT: Instrument = { symbol: "XBT-USD", tickSize: 1, lotSize: 1 };
const MID = 100_000;

/** A seeded command stream. */
export interface Workload {
  /** Its name in reports. */
  name: string;
  /** The instrument it trades. */
  instrument: Instrument;
  /** Commands that build the starting book (not timed). */
  setup: OrderCommand[];
  /** The measured commands. */
  commands: OrderCommand[];
}

/** Keeps the ids of resting orders, with O(1) random pick and removal. */
class LiveOrders {
  readonly ids: number[] = [];
  readonly #index = new Map<number, number>();
  add(id: number): void {
    this.#index.set(id, this.ids.length);
    this.ids.push(id);
  }
  remove(id: number): void {
    const at = this.#index.get(id);
    if (at === undefined) return;
    const last = this.ids.pop()!;
    if (last !== id) {
      this.ids[at] = last;
      this.#index.set(last, at);
    }
    this.#index.delete(id);
  }
  pick(next: () => number): number {
    return this.ids[Math.floor(next() * this.ids.length)];
  }
}

/**
 * Generates exchange-core's mix against a live engine, one command at a time: `step()`
 * makes the next command from the engine's current book, submits it and tracks which
 * orders rest. Streaming, so runs of any length need no command list in memory.
 */
export class ExchangeCoreMixGenerator {
  readonly #next: () => number;
  readonly #engine: OrderBookEngine;
  readonly #targetResting: number;
  readonly #moveBand: number;
  readonly #live = new LiveOrders();
  readonly #symbol = WORKLOAD_INSTRUMENT.symbol;
  #orderId: number;

  /**
   * A generator over `engine`, seeded; order ids start at `firstOrderId`. `moveBand` 0:
   * a move goes 1 to 10 ticks from the order's price (exchange-core's); n: anywhere within
   * n ticks of the mid.
   */
  constructor(engine: OrderBookEngine, seed = 1, targetResting = 1_000, firstOrderId = 1, moveBand = 0) {
    this.#next = random(seed);
    this.#engine = engine;
    this.#targetResting = targetResting;
    this.#moveBand = moveBand;
    this.#orderId = firstOrderId - 1;
  }

  /** Orders the generator believes are resting. */
  get resting(): number {
    return this.#live.ids.length;
  }

  /** Places passive GTC orders until `targetResting` rest; returns the commands. */
  fill(): OrderCommand[] {
    const commands: OrderCommand[] = [];
    while (this.#live.ids.length < this.#targetResting) commands.push(this.#place("GTC", false));
    return commands;
  }

  /** Makes, submits and returns the next command of the mix. */
  step(): OrderCommand {
    const next = this.#next;
    const live = this.#live;
    const roll = next();
    if (roll < 0.09 || live.ids.length < this.#targetResting / 2) return this.#place("GTC", next() < 0.1);
    if (roll < 0.12) return this.#place("IOC", true);
    if (roll < 0.18 && live.ids.length > this.#targetResting) {
      return this.#submit({ type: "cancel", symbol: this.#symbol, orderId: live.pick(next) });
    }
    const id = live.pick(next);
    const band = this.#moveBand;
    let price: number;
    if (band > 0) price = MID - band + Math.floor(next() * (2 * band + 1));
    else {
      const orders = this.#engine.book(this.#symbol).orders;
      const step = 1 + Math.floor(next() * 10);
      price = Math.max(1, orders.price[orders.slotOf(id)] + (next() < 0.5 ? -step : step));
    }
    return this.#submit({ type: "modify", symbol: this.#symbol, orderId: id, price });
  }

  #submit(command: OrderCommand): OrderCommand {
    const live = this.#live;
    const orders = this.#engine.book(this.#symbol).orders;
    for (const event of this.#engine.submitLent(command).events) {
      if (event.type === "OrderAccepted" && event.data.kind === "limit" && event.data.timeInForce === "GTC") live.add(event.data.orderId);
      else if (event.type === "TradeExecuted") {
        if (!orders.has(event.data.makerOrderId)) live.remove(event.data.makerOrderId);
        if (!orders.has(event.data.takerOrderId)) live.remove(event.data.takerOrderId);
      } else if (event.type === "OrderCancelled" || event.type === "OrderExpired") live.remove(event.data.orderId);
    }
    return command;
  }

  #place(timeInForce: "GTC" | "IOC", aggressive: boolean): OrderCommand {
    const next = this.#next;
    const side = next() < 0.5 ? "buy" : "sell";
    const book = this.#engine.book(this.#symbol);
    const best = (side === "buy" ? book.asks : book.bids).best()?.price ?? MID;
    // Passive prices spread over ~750 levels (375 a side) with more weight near the spread.
    const passive = () => {
      const offset = 1 + Math.floor(375 * next() * next());
      return side === "buy" ? MID - offset : MID + offset;
    };
    const price = aggressive ? (side === "buy" ? best + Math.floor(next() * 3) : best - Math.floor(next() * 3)) : passive();
    return this.#submit({
      type: "place", symbol: this.#symbol, orderId: ++this.#orderId, account: 1 + Math.floor(next() * 1000), side, kind: "limit", price,
      quantity: 1 + Math.floor(next() * 100), timeInForce, postOnly: false, selfTrade: "allow",
    });
  }
}

/** The mix as a command list, generated against a private in-memory engine. */
export function exchangeCoreMix(count: number, seed = 1, targetResting = 1_000): Promise<Workload> {
  return generatedMix("exchange-core mix", count, seed, targetResting, 0);
}

/** The crossing-heavy mix (moves anywhere within 375 ticks of the mid) as a command list. */
export function exchangeCoreCrossingMix(count: number, seed = 3, targetResting = 1_000): Promise<Workload> {
  return generatedMix("exchange-core mix, crossing moves", count, seed, targetResting, 375);
}

async function generatedMix(name: string, count: number, seed: number, targetResting: number, moveBand: number): Promise<Workload> {
  const engine = await OrderBookEngine.open({ instruments: [WORKLOAD_INSTRUMENT], bufferSize: 1024 });
  const generator = new ExchangeCoreMixGenerator(engine, seed, targetResting, 1, moveBand);
  const setup = generator.fill();
  const commands: OrderCommand[] = new Array(count);
  for (let i = 0; i < count; i++) commands[i] = generator.step();
  await engine.close();
  return { name, instrument: WORKLOAD_INSTRUMENT, setup, commands };
}

/** Plain limit orders within 10 ticks of a fixed mid: they cross often. */
export function crossingLimitStream(count: number, seed = 2): Workload {
  const next = random(seed);
  const symbol = WORKLOAD_INSTRUMENT.symbol;
  const commands: OrderCommand[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const side = next() < 0.5 ? "buy" : "sell";
    const offset = Math.floor(next() * 21) - 10; // within 10 ticks of the mid either way: crosses often
    commands[i] = {
      type: "place", symbol, orderId: i + 1, account: 1 + Math.floor(next() * 1000), side, kind: "limit",
      price: MID + (side === "buy" ? offset : -offset), quantity: 1 + Math.floor(next() * 100),
      timeInForce: "GTC", postOnly: false, selfTrade: "allow",
    };
  }
  return { name: "crossing limit stream", instrument: WORKLOAD_INSTRUMENT, setup: [], commands };
}
