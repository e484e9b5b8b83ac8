/**
 * Fixed-layout WAL codecs for the order-book events: numbers as float64 (exact for every
 * safe integer), enums and flags as one byte. No JSON on the hot path or on replay.
 */
import type { DataCodec } from "../wal/codec.ts";
export type { DataCodec } from "../wal/codec.ts";
import type {
  OcoLinkedData,
  OrderAcceptedData,
  OrderCancelledData,
  OrderExpiredData,
  OrderModifiedData,
  OrderRejectedData,
  StopTriggeredData,
  TradeExecutedData,
} from "./events.ts";
import { CANCEL_REASONS, COMMAND_NAMES, EXPIRE_REASONS, KINDS, REJECT_REASONS, SELF_TRADE, SIDES, TIMES_IN_FORCE } from "./types.ts";

type Field = readonly [name: string, kind: "number" | "boolean" | readonly string[]];

/**
 * A codec writing `fields` in order: numbers as f64, booleans and enum members as u8.
 * Decoding reads the fields' values in order, then `make` builds the data from them as
 * one object literal: an object built key by key from `{}` took about 100 ns per event
 * (keyed stores), the literal about 10 (Node, Deno and Bun), and replay decodes every
 * event. `make` must list the fields in the same order (the round-trip test checks it).
 */
function fixedCodec<D extends object>(id: number, type: string, fields: readonly Field[], make: (values: readonly unknown[]) => D): DataCodec<D> {
  const size = fields.reduce((total, [, kind]) => total + (kind === "number" ? 8 : 1), 0);
  const names = fields.map(([name]) => name);
  // 0 = number, 1 = boolean, 2 = enum; enum codes looked up in a Map, not by indexOf.
  const kinds = fields.map(([, kind]) => (kind === "number" ? 0 : kind === "boolean" ? 1 : 2));
  const members = fields.map(([, kind]) => (typeof kind === "string" ? [] : kind));
  const codes = members.map((list) => new Map(list.map((member, code) => [member, code])));
  // One array of values per codec, used again by every decode (make copies them out).
  const values: unknown[] = new Array(fields.length).fill(0);
  return {
    id,
    type,
    byteLength: () => size,
    encode(data, view, offset) {
      const record = data as Record<string, unknown>;
      for (let i = 0; i < names.length; i++) {
        const value = record[names[i]];
        const kind = kinds[i];
        if (kind === 0) {
          view.setFloat64(offset, value as number, true);
          offset += 8;
        } else if (kind === 1) {
          view.setUint8(offset++, value ? 1 : 0);
        } else {
          const code = codes[i].get(value as string);
          if (code === undefined) throw new RangeError(`${type}.${names[i]}: ${JSON.stringify(value)} is not one of ${members[i].join(", ")}`);
          view.setUint8(offset++, code);
        }
      }
    },
    decode(view, offset, length) {
      if (length !== size) throw new RangeError(`${type} data is ${size} bytes, got ${length}`);
      for (let i = 0; i < kinds.length; i++) {
        const kind = kinds[i];
        if (kind === 0) {
          values[i] = view.getFloat64(offset, true);
          offset += 8;
          continue;
        }
        const code = view.getUint8(offset++);
        if (kind === 1) {
          if (code > 1) throw new RangeError(`${type}.${names[i]}: bad flag ${code}`);
          values[i] = code === 1;
        } else {
          if (code >= members[i].length) throw new RangeError(`${type}.${names[i]}: bad code ${code}`);
          values[i] = members[i][code];
        }
      }
      return make(values);
    },
  };
}

/** Fixed-layout WAL codecs of the eight order-book events (ids 1-8): pass them to file storage. */
export const orderBookCodecs: DataCodec[] = [
  fixedCodec(1, "OrderAccepted", [
    ["orderId", "number"], ["account", "number"], ["side", SIDES], ["kind", KINDS], ["price", "number"],
    ["stopPrice", "number"], ["quantity", "number"], ["timeInForce", TIMES_IN_FORCE], ["postOnly", "boolean"],
    ["selfTrade", SELF_TRADE],
  ], (v): OrderAcceptedData => ({
    orderId: v[0] as number,
    account: v[1] as number,
    side: v[2] as OrderAcceptedData["side"],
    kind: v[3] as OrderAcceptedData["kind"],
    price: v[4] as number,
    stopPrice: v[5] as number,
    quantity: v[6] as number,
    timeInForce: v[7] as OrderAcceptedData["timeInForce"],
    postOnly: v[8] as boolean,
    selfTrade: v[9] as OrderAcceptedData["selfTrade"],
  })),
  fixedCodec(2, "OrderRejected", [["orderId", "number"], ["account", "number"], ["command", COMMAND_NAMES], ["reason", REJECT_REASONS]], (v): OrderRejectedData => ({
    orderId: v[0] as number,
    account: v[1] as number,
    command: v[2] as OrderRejectedData["command"],
    reason: v[3] as OrderRejectedData["reason"],
  })),
  fixedCodec(3, "TradeExecuted", [
    ["price", "number"], ["quantity", "number"], ["makerOrderId", "number"], ["makerAccount", "number"],
    ["takerOrderId", "number"], ["takerAccount", "number"], ["takerSide", SIDES],
  ], (v): TradeExecutedData => ({
    price: v[0] as number,
    quantity: v[1] as number,
    makerOrderId: v[2] as number,
    makerAccount: v[3] as number,
    takerOrderId: v[4] as number,
    takerAccount: v[5] as number,
    takerSide: v[6] as TradeExecutedData["takerSide"],
  })),
  fixedCodec(4, "OrderCancelled", [["orderId", "number"], ["account", "number"], ["remaining", "number"], ["reason", CANCEL_REASONS]], (v): OrderCancelledData => ({
    orderId: v[0] as number,
    account: v[1] as number,
    remaining: v[2] as number,
    reason: v[3] as OrderCancelledData["reason"],
  })),
  fixedCodec(5, "OrderExpired", [["orderId", "number"], ["account", "number"], ["remaining", "number"], ["reason", EXPIRE_REASONS]], (v): OrderExpiredData => ({
    orderId: v[0] as number,
    account: v[1] as number,
    remaining: v[2] as number,
    reason: v[3] as OrderExpiredData["reason"],
  })),
  fixedCodec(6, "OrderModified", [["orderId", "number"], ["account", "number"], ["price", "number"], ["quantity", "number"], ["keptPriority", "boolean"]], (v): OrderModifiedData => ({
    orderId: v[0] as number,
    account: v[1] as number,
    price: v[2] as number,
    quantity: v[3] as number,
    keptPriority: v[4] as boolean,
  })),
  fixedCodec(7, "StopTriggered", [["orderId", "number"], ["account", "number"], ["lastTradePrice", "number"]], (v): StopTriggeredData => ({
    orderId: v[0] as number,
    account: v[1] as number,
    lastTradePrice: v[2] as number,
  })),
  fixedCodec(8, "OcoLinked", [["orderId", "number"], ["account", "number"], ["stopOrderId", "number"]], (v): OcoLinkedData => ({
    orderId: v[0] as number,
    account: v[1] as number,
    stopOrderId: v[2] as number,
  })),
] as DataCodec[];
