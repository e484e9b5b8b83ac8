/**
 * Seeded command streams for the demo and the benchmarks, identical on every runtime:
 *
 * - `exchangeCoreMix`: exchange-core's benchmark mix (9% GTC place, 3% IOC, 6% cancel,
 *   82% move) around ~1,000 resting orders over ~750 price levels. As in exchange-core,
 *   the stream is generated against a live book (here our own engine in memory) so cancels
 *   and moves name orders that are really resting; the benchmark then replays the list.
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

export const WORKLOAD_INSTRUMENT: Instrument = { symbol: "XBT-USD", tickSize: 1, lotSize: 1 };
const MID = 100_000;

export interface Workload {
  name: string;
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

export async function exchangeCoreMix(count: number, seed = 1, targetResting = 1_000): Promise<Workload> {
  const next = random(seed);
  const symbol = WORKLOAD_INSTRUMENT.symbol;
  const engine = await OrderBookEngine.open({ instruments: [WORKLOAD_INSTRUMENT], bufferSize: 1024 });
  const live = new LiveOrders();
  let orderId = 0;
  const all: OrderCommand[] = [];
  // Passive prices spread over ~750 levels (375 a side) with more weight near the spread.
  const passivePrice = (side: "buy" | "sell") => {
    const offset = 1 + Math.floor(375 * next() * next());
    return side === "buy" ? MID - offset : MID + offset;
  };
  const submit = (command: OrderCommand) => {
    all.push(command);
    for (const event of engine.submitValidated(command).events) {
      if (event.type === "OrderAccepted" && event.data.kind === "limit" && event.data.timeInForce === "GTC") live.add(event.data.orderId);
      else if (event.type === "TradeExecuted") {
        if (engine.book(symbol).orders.get(event.data.makerOrderId) === undefined) live.remove(event.data.makerOrderId);
        if (engine.book(symbol).orders.get(event.data.takerOrderId) === undefined) live.remove(event.data.takerOrderId);
      } else if (event.type === "OrderCancelled" || event.type === "OrderExpired") live.remove(event.data.orderId);
    }
  };
  const place = (timeInForce: "GTC" | "IOC", aggressive: boolean) => {
    const side = next() < 0.5 ? "buy" : "sell";
    const book = engine.book(symbol);
    const best = (side === "buy" ? book.asks : book.bids).best()?.price ?? MID;
    const price = aggressive ? (side === "buy" ? best + Math.floor(next() * 3) : best - Math.floor(next() * 3)) : passivePrice(side);
    submit({
      type: "place", symbol, orderId: ++orderId, account: 1 + Math.floor(next() * 1000), side, kind: "limit", price,
      quantity: 1 + Math.floor(next() * 100), timeInForce, postOnly: false, selfTrade: "allow",
    });
  };
  while (live.ids.length < targetResting) place("GTC", false);
  const setup = all.splice(0);
  for (let i = 0; i < count; i++) {
    const roll = next();
    if (roll < 0.09 || live.ids.length < targetResting / 2) place("GTC", next() < 0.1);
    else if (roll < 0.12) place("IOC", true);
    else if (roll < 0.18 && live.ids.length > targetResting) submit({ type: "cancel", symbol, orderId: live.pick(next) });
    else {
      const id = live.pick(next);
      const order = engine.book(symbol).orders.get(id)!;
      const step = 1 + Math.floor(next() * 10);
      const price = Math.max(1, order.price + (next() < 0.5 ? -step : step));
      submit({ type: "modify", symbol, orderId: id, price });
    }
  }
  await engine.close();
  return { name: "exchange-core mix", instrument: WORKLOAD_INSTRUMENT, setup, commands: all };
}

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
