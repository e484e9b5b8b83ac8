/**
 * Fixed-layout WAL codecs for the order-book events: numbers as float64 (exact for every
 * safe integer), enums and flags as one byte. No JSON on the hot path or on replay.
 */
import type { DataCodec } from "../wal/codec.ts";
export type { DataCodec } from "../wal/codec.ts";
import { CANCEL_REASONS, COMMAND_NAMES, EXPIRE_REASONS, KINDS, REJECT_REASONS, SELF_TRADE, SIDES, TIMES_IN_FORCE } from "./types.ts";

type Field = readonly [name: string, kind: "number" | "boolean" | readonly string[]];

/** A codec writing `fields` in order: numbers as f64, booleans and enum members as u8. */
function fixedCodec(id: number, type: string, fields: readonly Field[]): DataCodec<Record<string, unknown>> {
  const size = fields.reduce((total, [, kind]) => total + (kind === "number" ? 8 : 1), 0);
  const names = fields.map(([name]) => name);
  // 0 = number, 1 = boolean, 2 = enum; enum codes looked up in a Map, not by indexOf.
  const kinds = fields.map(([, kind]) => (kind === "number" ? 0 : kind === "boolean" ? 1 : 2));
  const members = fields.map(([, kind]) => (typeof kind === "string" ? [] : kind));
  const codes = members.map((list) => new Map(list.map((member, code) => [member, code])));
  return {
    id,
    type,
    byteLength: () => size,
    encode(data, view, offset) {
      for (let i = 0; i < names.length; i++) {
        const value = data[names[i]];
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
      const data: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) {
        const kind = kinds[i];
        if (kind === 0) {
          data[names[i]] = view.getFloat64(offset, true);
          offset += 8;
          continue;
        }
        const code = view.getUint8(offset++);
        if (kind === 1) {
          if (code > 1) throw new RangeError(`${type}.${names[i]}: bad flag ${code}`);
          data[names[i]] = code === 1;
        } else {
          if (code >= members[i].length) throw new RangeError(`${type}.${names[i]}: bad code ${code}`);
          data[names[i]] = members[i][code];
        }
      }
      return data;
    },
  };
}

/** Fixed-layout WAL codecs of the eight order-book events (ids 1-8): pass them to file storage. */
export const orderBookCodecs: DataCodec[] = [
  fixedCodec(1, "OrderAccepted", [
    ["orderId", "number"], ["account", "number"], ["side", SIDES], ["kind", KINDS], ["price", "number"],
    ["stopPrice", "number"], ["quantity", "number"], ["timeInForce", TIMES_IN_FORCE], ["postOnly", "boolean"],
    ["selfTrade", SELF_TRADE],
  ]),
  fixedCodec(2, "OrderRejected", [["orderId", "number"], ["account", "number"], ["command", COMMAND_NAMES], ["reason", REJECT_REASONS]]),
  fixedCodec(3, "TradeExecuted", [
    ["price", "number"], ["quantity", "number"], ["makerOrderId", "number"], ["makerAccount", "number"],
    ["takerOrderId", "number"], ["takerAccount", "number"], ["takerSide", SIDES],
  ]),
  fixedCodec(4, "OrderCancelled", [["orderId", "number"], ["account", "number"], ["remaining", "number"], ["reason", CANCEL_REASONS]]),
  fixedCodec(5, "OrderExpired", [["orderId", "number"], ["account", "number"], ["remaining", "number"], ["reason", EXPIRE_REASONS]]),
  fixedCodec(6, "OrderModified", [["orderId", "number"], ["account", "number"], ["price", "number"], ["quantity", "number"], ["keptPriority", "boolean"]]),
  fixedCodec(7, "StopTriggered", [["orderId", "number"], ["account", "number"], ["lastTradePrice", "number"]]),
  fixedCodec(8, "OcoLinked", [["orderId", "number"], ["account", "number"], ["stopOrderId", "number"]]),
] as DataCodec[];
