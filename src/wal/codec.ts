import { ValidationError } from "../core/errors.ts";

/**
 * How an event's data becomes bytes in a WAL record.
 *
 * Codec 0 is JSON and fits any event whose data is JSON-compatible. A hot event type can
 * register a fixed-layout codec (ids 1-255) that writes its fields straight into the
 * record with a DataView: no string building, no parsing on replay.
 */
export interface DataCodec<D = unknown> {
  /** Stored in each record; never reuse an id for another layout. 1-255. */
  readonly id: number;
  /** The event type (at its current schema version) this codec encodes. */
  readonly type: string;
  /** Exact number of bytes `encode` will write for `data`. */
  byteLength(data: D): number;
  /** Writes `data` at `offset`. */
  encode(data: D, view: DataView, offset: number): void;
  /**
   * Reads data of `length` bytes at `offset`; throws on bytes it cannot accept. The bytes
   * are read into a buffer used again after `decode` returns: copy what you keep (do not
   * return a view of `view.buffer`).
   */
  decode(view: DataView, offset: number, length: number): D;
  /**
   * Optional: reads like `decode`, but into `data`, an object this codec's `decode` made,
   * and returns it (or a new object, if it cannot refill that one). A replay into a decider
   * whose `evolve` keeps no events (Decider.evolveKeepsNoEvents) then makes no data object
   * per event: the WAL refills one per codec (StorageAdapter.readEach).
   */
  decodeInto?(view: DataView, offset: number, length: number, data: D): D;
}

export const JSON_CODEC_ID = 0;

/** Codecs by event type (for encoding) and by id (for decoding). */
export class CodecTable {
  readonly #byType = new Map<string, DataCodec>();
  readonly #byId: (DataCodec | undefined)[] = new Array(256);

  constructor(codecs: readonly DataCodec[] = []) {
    for (const codec of codecs) {
      if (!Number.isInteger(codec.id) || codec.id < 1 || codec.id > 255) {
        throw new ValidationError("WAL options", [{ path: "codecs", message: `codec for "${codec?.type}": id must be an integer 1-255, got ${codec?.id}` }]);
      }
      for (const method of ["byteLength", "encode", "decode", "decodeInto"] as const) {
        if (typeof codec[method] !== "function" && (method !== "decodeInto" || codec[method] !== undefined)) {
          throw new ValidationError("WAL options", [{ path: "codecs", message: `codec for "${codec.type}" (id ${codec.id}): ${method} must be a function` }]);
        }
      }
      if (this.#byId[codec.id] || this.#byType.has(codec.type)) {
        throw new ValidationError("WAL options", [{ path: "codecs", message: `codec for "${codec.type}" (id ${codec.id}) is registered twice` }]);
      }
      this.#byId[codec.id] = codec;
      this.#byType.set(codec.type, codec);
    }
  }

  forType(type: string): DataCodec | undefined {
    return this.#byType.get(type);
  }

  forId(id: number): DataCodec | undefined {
    return this.#byId[id];
  }
}
