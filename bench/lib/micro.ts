/**
 * Micro-benchmarks with mitata's `measure`: one record encoded and decoded (fixed-layout
 * codec and JSON codec), CRC32C, one enqueue into the WAL ring through the event store,
 * the book alone (decide + evolve: place + cancel, one level matched) and one book
 * operation through the engine.
 */
import { measure } from "mitata";
import { z } from "zod";
import { defineEvent, EventStore, eventRegistry, type StoredRecord } from "../../mod.ts";
import { fileStorage } from "../../src/adapter/file/index.ts";
import {
  decideOrder,
  evolveBook,
  OrderBook,
  orderBookCodecs,
  OrderBookEngine,
  type OrderCommand,
  WORKLOAD_INSTRUMENT,
} from "../../src/orderbook/index.ts";
import { CodecTable } from "../../src/wal/codec.ts";
import { checksummedBuffer, crc32c, sealRecords } from "../../src/wal/crc32c.ts";
import { newPlan, paddedLength, RecordDecoder, RecordEncoder } from "../../src/wal/record-format.ts";

/** The span the sealing micro-benchmarks seal. */
const SPAN_BYTES = 65_536;

export interface MicroResult {
  name: string;
  /** Nanoseconds per operation. */
  avg: number;
  p50: number;
  p99: number;
  opsPerSecond: number;
}

const trade: StoredRecord = {
  type: "TradeExecuted",
  data: { price: 100_005, quantity: 7, makerOrderId: 123_456, makerAccount: 17, takerOrderId: 123_999, takerAccount: 42, takerSide: "buy" },
  metadata: undefined,
  schemaVersion: 1,
  streamId: "book-XBT-USD",
  streamVersion: 1_000_000,
  position: 1_000_000,
  timestamp: 1_764_000_000_000,
};
const generic: StoredRecord = { ...trade, type: "ItemAdded", data: { cartId: "cart-42", sku: "SKU-1234", quantity: 3, price: 1999 } };

export async function microBenchmarks(quick: boolean, directory: string): Promise<MicroResult[]> {
  const options = quick ? { min_cpu_time: 20e6, min_samples: 4 } : {};
  const results: MicroResult[] = [];
  const run = async (name: string, fn: () => unknown) => {
    const stats = await measure(fn, options);
    results.push({ name, avg: round(stats.avg), p50: round(stats.p50), p99: round(stats.p99), opsPerSecond: Math.round(1e9 / stats.avg) });
  };
  const round = (ns: number) => Math.round(ns * 10) / 10;

  const codecs = new CodecTable(orderBookCodecs);
  const encoder = new RecordEncoder(codecs);
  const decoder = new RecordDecoder(codecs);
  const bytes = new Uint8Array(4096);
  const view = new DataView(bytes.buffer);
  const plan = newPlan();
  const encode = (record: StoredRecord, offset: number) => {
    const length = encoder.measure(record, plan);
    encoder.write(record, plan, bytes, view, offset, length);
    return length;
  };
  const tradeLength = encode(trade, 0);
  encode(generic, 1024);
  await run("encode a record, fixed codec (TradeExecuted)", () => encode(trade, 0));
  await run("decode a record, fixed codec (TradeExecuted)", () => decoder.decode(bytes, view, 0));
  await run("encode a record, JSON codec (4-field event)", () => encode(generic, 1024));
  await run("decode a record, JSON codec (4-field event)", () => decoder.decode(bytes, view, 1024));
  await run(`CRC32C of a ${tradeLength}-byte record (JavaScript: any other buffer)`, () => crc32c(bytes, 4, tradeLength));
  const checksummed = checksummedBuffer(4096);
  checksummed.set(bytes);
  await run(`CRC32C of a ${tradeLength}-byte record (WebAssembly: the read window, the writer's copy)`, () => crc32c(checksummed, 4, tradeLength));

  // The WAL writer's per-span work: 64 KiB of TradeExecuted records sealed (each one's CRC
  // stored in it), as it does now (copied out of the ring into a WebAssembly memory, one
  // call) and as it did before (in the ring itself, record by record in JavaScript).
  const ring = new Uint8Array(new SharedArrayBuffer(SPAN_BYTES));
  const ringView = new DataView(ring.buffer);
  const record = { ...trade };
  let spanEnd = 0;
  for (; spanEnd + tradeLength + 8 <= SPAN_BYTES; record.position++) {
    encoder.write(record, plan, ring, ringView, spanEnd, encoder.measure(record, plan));
    spanEnd += paddedLength(tradeLength);
  }
  const spanRecords = spanEnd / paddedLength(tradeLength);
  const window = checksummedBuffer(SPAN_BYTES);
  await run(`seal ${spanRecords} records (64 KiB): copied into WebAssembly (the WAL writer)`, () => {
    window.set(ring.subarray(0, spanEnd));
    return sealRecords(window, 0, spanEnd);
  });
  await run(`seal ${spanRecords} records (64 KiB): in the ring, JavaScript (the writer before)`, () => sealRecords(ring, 0, spanEnd));

  const ItemAdded = defineEvent("ItemAdded", z.object({ cartId: z.string(), sku: z.string(), quantity: z.number().int(), price: z.number().int() }));
  const store = new EventStore({ events: eventRegistry(ItemAdded), storage: fileStorage(`${directory}/enqueue`, { durability: "async" }) });
  await store.open();
  const events = [{ type: "ItemAdded" as const, data: generic.data as z.output<typeof ItemAdded.schema> }];
  await run("enqueue one validated event into the WAL ring (event store, async)", () => store.enqueue("cart-42", events));
  await store.close();

  // The book alone: 1,000 resting orders over 2 x 300 levels, then one order placed inside
  // the spread and cancelled (a level opened and closed), or ten makers at a new best ask
  // taken by one taker (the level opened, matched through and closed).
  const book = new OrderBook(WORKLOAD_INSTRUMENT);
  const apply = (command: OrderCommand) => {
    for (const event of decideOrder(command, book)) evolveBook(book, event);
  };
  for (let i = 1; i <= 1000; i++) apply(restingOrder(i));
  let orderId = 1_000_000;
  const place: OrderCommand = {
    type: "place", symbol: "XBT-USD", orderId: 0, account: 7, side: "buy", kind: "limit", price: 99_995, quantity: 5,
    timeInForce: "GTC", postOnly: false, selfTrade: "allow",
  };
  const cancel: OrderCommand = { type: "cancel", symbol: "XBT-USD", orderId: 0 };
  await run("place a resting limit order, then cancel it (book: decide + evolve)", () => {
    place.orderId = cancel.orderId = ++orderId;
    apply(place);
    apply(cancel);
  });
  const maker = { ...place, account: 8, side: "sell" as const, price: 100_005, quantity: 10 };
  const taker = { ...place, account: 9, price: 100_005, quantity: 100, timeInForce: "IOC" as const };
  await run("match one level: 10 makers rest at a new best ask, one taker fills them (book)", () => {
    for (let k = 0; k < 10; k++) {
      maker.orderId = ++orderId;
      apply(maker);
    }
    taker.orderId = ++orderId;
    apply(taker);
  });

  const engine = await OrderBookEngine.open({
    instruments: [WORKLOAD_INSTRUMENT],
    storage: fileStorage(`${directory}/book`, { durability: "async", codecs: orderBookCodecs }),
  });
  for (let i = 1; i <= 1000; i++) engine.submitValidated(restingOrder(i));
  await run("place a resting limit order, then cancel it (engine, async WAL)", () => {
    place.orderId = cancel.orderId = ++orderId;
    engine.submitValidated(place);
    engine.submitValidated(cancel);
  });
  await engine.close();
  return results;
}

/** Resting order `i` of the micro-benchmarks' book: bids from 99,990 down, asks from 100,010 up. */
function restingOrder(i: number): OrderCommand {
  const side = i % 2 === 0 ? "buy" : "sell";
  return {
    type: "place", symbol: "XBT-USD", orderId: i, account: i, side, kind: "limit",
    price: side === "buy" ? 99_990 - (i % 300) : 100_010 + (i % 300), quantity: 10, timeInForce: "GTC", postOnly: false, selfTrade: "allow",
  };
}
