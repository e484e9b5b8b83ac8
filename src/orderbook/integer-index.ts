/**
 * Positive safe integer -> slot: the book's order-id index and its price -> level index.
 * An open-addressing hash table (linear probing, at most half full, backward-shift
 * deletion so no tombstones pile up).
 *
 * Why not a Map: a book deletes keys and adds the same keys again all the time (a level
 * empties and refills at the same price). V8's and JavaScriptCore's Maps keep a deleted
 * entry in its key's bucket chain until the table is rebuilt, so each round of the same
 * key lengthens that chain: a get + set + delete of one key cost 1.3-1.8 µs on a
 * 300-entry Map here and 53-65 µs on a 10,000-entry one (fresh keys: 60-140 ns; this
 * table: 13-22 ns). A Map entry also costs ~30-40 bytes and a heap number for a key past
 * the small-integer range; two typed arrays hold one in 12 bytes a bucket, with nothing
 * for the garbage collector. Keys are positive safe integers (the decider rejects
 * others); slot 0 means "empty".
 */
const TWO_32 = 0x1_0000_0000;
const MIN_BUCKETS = 1024;

/** Spreads a safe integer's two 32-bit halves over the table. */
function hash(id: number): number {
  const h = Math.imul((id | 0) ^ Math.imul((id / TWO_32) | 0, 0x27d4eb2d), 0x9e3779b1);
  return h ^ (h >>> 15);
}

export class IntegerIndex {
  #ids: Float64Array;
  #slots: Int32Array;
  #mask: number;
  #size = 0;

  /** An empty index with `buckets` buckets to start with (a power of two; it doubles as it fills). */
  constructor(buckets = MIN_BUCKETS) {
    this.#ids = new Float64Array(buckets);
    this.#slots = new Int32Array(buckets);
    this.#mask = buckets - 1;
  }

  /** Number of keys held. */
  get size(): number {
    return this.#size;
  }

  /** The slot of `id` (a key), or 0. */
  get(id: number): number {
    const ids = this.#ids;
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = hash(id) & mask; ; i = (i + 1) & mask) {
      const slot = slots[i];
      if (slot === 0 || ids[i] === id) return slot;
    }
  }

  /** Maps `id` (not held yet) to `slot` (> 0). */
  set(id: number, slot: number): void {
    if (2 * (this.#size + 1) > this.#slots.length) this.#grow();
    const ids = this.#ids;
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hash(id) & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    ids[i] = id;
    slots[i] = slot;
    this.#size++;
  }

  /** Forgets `id`, which must be held; returns the slot it mapped to. */
  delete(id: number): number {
    const ids = this.#ids;
    const slots = this.#slots;
    const mask = this.#mask;
    let hole = hash(id) & mask;
    while (ids[hole] !== id || slots[hole] === 0) hole = (hole + 1) & mask;
    const slot = slots[hole];
    // Move back every later entry of the run whose home is not between the hole and it,
    // so a lookup never meets an empty bucket before its id.
    for (let i = (hole + 1) & mask; slots[i] !== 0; i = (i + 1) & mask) {
      const home = hash(ids[i]) & mask;
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        ids[hole] = ids[i];
        slots[hole] = slots[i];
        hole = i;
      }
    }
    slots[hole] = 0;
    this.#size--;
    return slot;
  }

  #grow(): void {
    const ids = this.#ids;
    const slots = this.#slots;
    const buckets = slots.length * 2;
    this.#ids = new Float64Array(buckets);
    this.#slots = new Int32Array(buckets);
    this.#mask = buckets - 1;
    this.#size = 0;
    for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) this.set(ids[i], slots[i]);
  }
}
