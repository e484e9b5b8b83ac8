/**
 * The resting orders of one book as columns (a struct of arrays) indexed by a slot number.
 *
 * Why columns: a million resting orders as objects are a million objects for the garbage
 * collector to trace, each with its header, and a Map entry apiece to find them. Here an
 * order is a row across a few typed arrays (45 bytes, 8 more for its level reference, and
 * 12-24 for its id index buckets: 84 bytes an order measured with a million resting, spare
 * room included); a slot freed by a fill or a cancel is reused by the next order to rest,
 * so the engine allocates nothing per order once the table has grown to the book's size.
 *
 * Slot 0 is never used: it is the "no order" of the level lists (`next`, `previous`,
 * a level's `head` and `tail`) and of `slotOf`.
 */
import type { Level } from "./book.ts";
import { IntegerIndex } from "./integer-index.ts";
import { SELF_TRADE, type SelfTradePrevention, type Side } from "./types.ts";

/** A resting order as read out of the book (a copy: later changes to the book do not show). */
export interface RestingOrder {
  /** Order id. */
  readonly id: number;
  /** Owning account. */
  readonly account: number;
  /** Buy or sell. */
  readonly side: Side;
  /** Limit price. */
  readonly price: number;
  /** Open quantity. */
  readonly quantity: number;
  /** Whether it was placed post-only. */
  readonly postOnly: boolean;
  /** Its self-trade prevention mode. */
  readonly selfTrade: SelfTradePrevention;
}

/** `traits` bits: the side, post-only, then the self-trade mode's index in SELF_TRADE. */
const SELL = 1;
const POST_ONLY = 2;
const SELF_TRADE_SHIFT = 2;
const INITIAL_SLOTS = 1024;

/** The resting orders of one book, a row per slot (see above). */
export class OrderTable {
  /** Order ids by slot. */
  id: Float64Array = new Float64Array(INITIAL_SLOTS);
  /** Owning accounts by slot. */
  account: Float64Array = new Float64Array(INITIAL_SLOTS);
  /** Limit prices by slot. */
  price: Float64Array = new Float64Array(INITIAL_SLOTS);
  /** Open quantities by slot. */
  quantity: Float64Array = new Float64Array(INITIAL_SLOTS);
  /** The order behind each one at its level (0 at the tail; the free list's link for a free slot). */
  next: Int32Array = new Int32Array(INITIAL_SLOTS);
  /** The order ahead of each one at its level (0 at the head). */
  previous: Int32Array = new Int32Array(INITIAL_SLOTS);
  /** Side, post-only and self-trade mode by slot (see the bits above). */
  traits: Uint8Array = new Uint8Array(INITIAL_SLOTS);
  /** Each slot's price level (null while free). */
  level: (Level | null)[] = new Array<Level | null>(INITIAL_SLOTS).fill(null);
  readonly #index = new IntegerIndex();
  /** Slots below this have been used; slot 0 never is. */
  #used = 1;
  /** The first free slot (0 when none is free: the next order takes slot #used). */
  #free = 0;

  /** Number of resting orders. */
  get size(): number {
    return this.#index.size;
  }

  /** The slot of order `id`, or 0 if it is not resting. */
  slotOf(id: number): number {
    return this.#index.get(id);
  }

  /** Is order `id` resting? */
  has(id: number): boolean {
    return this.#index.get(id) !== 0;
  }

  /** A copy of resting order `id`, if it rests. */
  get(id: number): RestingOrder | undefined {
    const slot = this.#index.get(id);
    return slot === 0 ? undefined : this.read(slot);
  }

  /** Copies of every resting order, in slot order. */
  *values(): IterableIterator<RestingOrder> {
    for (let slot = 1; slot < this.#used; slot++) if (this.level[slot] !== null) yield this.read(slot);
  }

  /** A copy of the order in `slot`. */
  read(slot: number): RestingOrder {
    return {
      id: this.id[slot],
      account: this.account[slot],
      side: this.side(slot),
      price: this.price[slot],
      quantity: this.quantity[slot],
      postOnly: this.postOnly(slot),
      selfTrade: this.selfTrade(slot),
    };
  }

  /** The side of the order in `slot`. */
  side(slot: number): Side {
    return (this.traits[slot] & SELL) === 0 ? "buy" : "sell";
  }

  /** Whether the order in `slot` is post-only. */
  postOnly(slot: number): boolean {
    return (this.traits[slot] & POST_ONLY) !== 0;
  }

  /** The self-trade prevention mode of the order in `slot`. */
  selfTrade(slot: number): SelfTradePrevention {
    return SELF_TRADE[this.traits[slot] >>> SELF_TRADE_SHIFT];
  }

  /** Takes a slot for a new order (not linked to any level yet) and returns it. */
  add(id: number, account: number, side: Side, price: number, quantity: number, postOnly: boolean, selfTrade: SelfTradePrevention): number {
    let slot = this.#free;
    if (slot !== 0) this.#free = this.next[slot];
    else {
      if (this.#used === this.id.length) this.#grow();
      slot = this.#used++;
    }
    this.id[slot] = id;
    this.account[slot] = account;
    this.price[slot] = price;
    this.quantity[slot] = quantity;
    this.traits[slot] = (side === "sell" ? SELL : 0) | (postOnly ? POST_ONLY : 0) | (SELF_TRADE.indexOf(selfTrade) << SELF_TRADE_SHIFT);
    this.#index.set(id, slot);
    return slot;
  }

  /** Gives back the slot of an order already unlinked from its level. */
  release(slot: number): void {
    this.#index.delete(this.id[slot]);
    this.level[slot] = null;
    this.next[slot] = this.#free;
    this.previous[slot] = 0;
    this.#free = slot;
  }

  #grow(): void {
    const slots = this.id.length * 2;
    const widen = <T extends Float64Array | Int32Array | Uint8Array>(column: T, make: new (length: number) => T): T => {
      const wider = new make(slots);
      wider.set(column);
      return wider;
    };
    this.id = widen(this.id, Float64Array);
    this.account = widen(this.account, Float64Array);
    this.price = widen(this.price, Float64Array);
    this.quantity = widen(this.quantity, Float64Array);
    this.next = widen(this.next, Int32Array);
    this.previous = widen(this.previous, Int32Array);
    this.traits = widen(this.traits, Uint8Array);
    for (let slot = this.level.length; slot < slots; slot++) this.level.push(null);
  }
}
