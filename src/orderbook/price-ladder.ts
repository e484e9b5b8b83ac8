/**
 * The active prices of one side of a book, each with a value (the book keeps the slot of
 * its price level there), as a map that knows its best price and, from any price, the next
 * worse one.
 *
 * Why not a sorted array: the book used to keep its prices sorted in an array, and each
 * level opened or closed away from the best cost a binary search (mispredicted branches)
 * and a splice; in exchange-core's mix a move closes one level and opens another almost
 * every time, and replaying 3.2 M of its events cost 127 ns an event in `evolve`, against
 * 100 ns with this ladder (78 ns with one flat bitset over a fixed window of ticks, which
 * cannot hold prices up to an instrument's maximum, 10^12 by default).
 *
 * Layout: prices are split into pages of 1,024 ticks; a page holds one bit per tick (32
 * words, 128 bytes), one value per tick (1,024 int32s, 4 KB) and its count of prices.
 * Pages are found by number through an integer hash, and the active pages are kept sorted
 * like the prices were, best last, so a walk that leaves a page steps to its neighbour.
 * Prices cluster around the spread, so pages open and close rarely and there are few of
 * them; prices far apart cost a page each, never storage over the range between them.
 *
 * Why values here: the book found a price's level through an integer hash of its own, one
 * lookup or more per event; a price's value here is in the page the ladder looks up anyway
 * (and most often the page it looked up last). `evolve` over 3.2 M exchange-core events,
 * 2 alternated pairs of 4 rounds: Bun 81-91 ns an event against 100-112 with the hash,
 * Node 87-98 against 93-101, Deno 74-82 against 83-91 (first rounds 94-110 against 114-130).
 */
import { IntegerIndex } from "./integer-index.ts";

const PAGE_TICKS = 1024;
const WORDS = PAGE_TICKS / 32;

/** Index of the highest set bit of a non-zero word. */
const highest = (word: number): number => 31 - Math.clz32(word);
/** Index of the lowest set bit of a non-zero word. */
const lowest = (word: number): number => 31 - Math.clz32(word & -word);

export class PriceLadder {
  /**
   * Page number + 1 -> page slot (the index keys must be positive). Small to start with: a
   * book holds few pages, and at the index's default size the two sides' page indexes took
   * an empty book from 91 to 120 KB.
   */
  readonly #slotOf = new IntegerIndex(16);
  /** Each slot's 32 words of bits; slot 0 is never used. */
  #bits = new Int32Array(WORDS * 2);
  /** Each slot's value per tick (meaningful where its bit is set). */
  #values = new Int32Array(PAGE_TICKS * 2);
  /** Prices set in each slot's page. */
  #counts = new Int32Array(2);
  #freeSlots: number[] = [];
  #usedSlots = 1;
  /** Active page numbers, sorted so that the best is last (like the prices). */
  readonly #pages: number[] = [];
  #best = 0;
  /**
   * The page last looked up and its slot: prices cluster, so most lookups skip the hash.
   * `evolve` over 3.2 M exchange-core events on Bun, 4 alternated pairs: 104-135 ns an
   * event with it, 114-155 without (on Deno no difference).
   */
  #cachedPage = -1;
  #cachedSlot = 0;

  /** A ladder whose best price is the highest (`descending`, bids) or the lowest (asks). */
  constructor(readonly descending: boolean) {}

  /** The best price, or 0 when there is none (prices are positive). */
  get best(): number {
    return this.#best;
  }

  /** The value of `price`, or 0 if it is not held. */
  get(price: number): number {
    const page = Math.floor(price / PAGE_TICKS);
    const offset = price - page * PAGE_TICKS;
    const slot = this.#slot(page);
    if (slot === 0 || (this.#bits[slot * WORDS + (offset >>> 5)] & (1 << (offset & 31))) === 0) return 0;
    return this.#values[slot * PAGE_TICKS + offset];
  }

  /** Adds `price` (a positive safe integer not held yet) with `value`. */
  add(price: number, value: number): void {
    const page = Math.floor(price / PAGE_TICKS);
    const offset = price - page * PAGE_TICKS;
    const slot = this.#slot(page) || this.#openPage(page);
    this.#bits[slot * WORDS + (offset >>> 5)] |= 1 << (offset & 31);
    this.#values[slot * PAGE_TICKS + offset] = value;
    this.#counts[slot]++;
    if (this.#best === 0 || (this.descending ? price > this.#best : price < this.#best)) this.#best = price;
  }

  /** Removes `price`, which must be held; returns its value. */
  delete(price: number): number {
    if (price === this.#best) this.#best = this.after(price);
    const page = Math.floor(price / PAGE_TICKS);
    const offset = price - page * PAGE_TICKS;
    const slot = this.#slot(page);
    this.#bits[slot * WORDS + (offset >>> 5)] &= ~(1 << (offset & 31));
    const value = this.#values[slot * PAGE_TICKS + offset];
    if (--this.#counts[slot] === 0) this.#closePage(page, slot);
    return value;
  }

  /** The next worse price held after `price` (held or not), or 0 if there is none. */
  after(price: number): number {
    const page = Math.floor(price / PAGE_TICKS);
    const slot = this.#slot(page);
    if (slot !== 0) {
      const offset = this.descending
        ? this.#highestBelow(slot, price - page * PAGE_TICKS)
        : this.#lowestAbove(slot, price - page * PAGE_TICKS);
      if (offset >= 0) return page * PAGE_TICKS + offset;
    }
    // Pages are sorted best last: the ones worse than this page come before its place.
    const index = this.#search(page);
    return index === 0 ? 0 : this.#edge(this.#pages[index - 1]);
  }

  /** The slot of page `page`, 0 if it holds no price. */
  #slot(page: number): number {
    if (page === this.#cachedPage) return this.#cachedSlot;
    const slot = this.#slotOf.get(page + 1);
    if (slot !== 0) {
      this.#cachedPage = page;
      this.#cachedSlot = slot;
    }
    return slot;
  }

  /** The best price of held page `page`. */
  #edge(page: number): number {
    const base = this.#slot(page) * WORDS;
    const bits = this.#bits;
    if (this.descending) {
      for (let w = WORDS - 1;; w--) if (bits[base + w] !== 0) return page * PAGE_TICKS + w * 32 + highest(bits[base + w]);
    }
    for (let w = 0;; w++) if (bits[base + w] !== 0) return page * PAGE_TICKS + w * 32 + lowest(bits[base + w]);
  }

  /** The highest offset set in `slot`'s page below `offset`, or -1. */
  #highestBelow(slot: number, offset: number): number {
    if (offset === 0) return -1;
    const bits = this.#bits;
    const base = slot * WORDS;
    const top = offset - 1;
    let w = top >>> 5;
    // Bits 0..(top & 31) of the word holding offset - 1.
    let word = bits[base + w] & (-1 >>> (31 - (top & 31)));
    for (;;) {
      if (word !== 0) return w * 32 + highest(word);
      if (--w < 0) return -1;
      word = bits[base + w];
    }
  }

  /** The lowest offset set in `slot`'s page above `offset`, or -1. */
  #lowestAbove(slot: number, offset: number): number {
    const from = offset + 1;
    if (from === PAGE_TICKS) return -1;
    const bits = this.#bits;
    const base = slot * WORDS;
    let w = from >>> 5;
    let word = bits[base + w] & (-1 << (from & 31));
    for (;;) {
      if (word !== 0) return w * 32 + lowest(word);
      if (++w === WORDS) return -1;
      word = bits[base + w];
    }
  }

  #openPage(page: number): number {
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      if (this.#usedSlots === this.#counts.length) this.#grow();
      slot = this.#usedSlots++;
    }
    this.#slotOf.set(page + 1, slot);
    // Pages open and close far more rarely than levels: a splice at the page's place will do.
    this.#pages.splice(this.#search(page), 0, page);
    return slot;
  }

  #closePage(page: number, slot: number): void {
    this.#slotOf.delete(page + 1);
    if (page === this.#cachedPage) this.#cachedPage = -1;
    this.#freeSlots.push(slot);
    this.#pages.splice(this.#search(page), 1);
  }

  /** Index of the first page in #pages not worse-sorted than `page` (binary search). */
  #search(page: number): number {
    const pages = this.#pages;
    let low = 0;
    let high = pages.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.descending ? pages[middle] < page : pages[middle] > page) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #grow(): void {
    const slots = this.#counts.length * 2;
    const counts = new Int32Array(slots);
    counts.set(this.#counts);
    this.#counts = counts;
    const bits = new Int32Array(slots * WORDS);
    bits.set(this.#bits);
    this.#bits = bits;
    const values = new Int32Array(slots * PAGE_TICKS);
    values.set(this.#values);
    this.#values = values;
  }
}
