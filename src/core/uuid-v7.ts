/**
 * Generated event ids: UUID version 7 strings (RFC 9562 §5.7): the 48-bit Unix millisecond
 * timestamp of the append, the version, the variant and 74 bits that tell apart ids of one
 * millisecond. Ids so made sort by time, so an index on them (PostgreSQL's, SQLite's)
 * grows at its end.
 *
 * Why not `crypto.randomUUID()`: on Node 20 it costs about half a microsecond and leaves a
 * rope of some twenty strings per id for the collector, a large share of a one-event
 * append. Here 66 random bits are drawn once per block of 256 ids (and again at every
 * new millisecond) into a flat 34-character prefix, and the last two hex digits count the
 * block's ids: an id is one concatenation. Two processes collide only if they draw the
 * same 66 bits in the same millisecond.
 */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Variant 10xx: the nibble after the third hyphen is 8, 9, a or b. */
const VARIANT = ["8", "9", "a", "b"];
const random = new Uint8Array(10);
/** An id's length, and its prefix's: all but the last two hex digits (the block's counter). */
export const ID_LENGTH = 36;
const PREFIX_LENGTH = 34;

let blockMs = -1;
let prefix = "";
/** The block's prefix as ASCII bytes (a new array per block: the ids kept below point to it). */
let prefixBytes = new Uint8Array(PREFIX_LENGTH);
let counter = 256;

/**
 * The latest ids made, with their bytes, for encoders (`recentId`): an encoder reading a
 * fresh id char by char makes the runtime flatten it (it is a concatenation) and walks 36
 * characters, which on Node 20 costs more than the rest of a small event's record. A
 * record's id is matched by identity, not read.
 */
const KEPT = 1024;
const keptIds: (string | undefined)[] = new Array(KEPT).fill(undefined);
const keptPrefixes: Uint8Array[] = new Array(KEPT).fill(prefixBytes);
const keptCounters = new Uint8Array(KEPT);
/** Ids made so far. */
let made = 0;

/** A new UUIDv7 for an event appended at `timestamp` (ms since the epoch). */
export function uuidV7(timestamp: number): string {
  if (counter === 256 || timestamp !== blockMs) newBlock(timestamp);
  const id = prefix + HEX[counter]!;
  const slot = made++ & (KEPT - 1);
  keptIds[slot] = id;
  keptPrefixes[slot] = prefixBytes;
  keptCounters[slot] = counter++;
  return id;
}

/**
 * Where the generator keeps `id`'s bytes, if it is the id made `back` ids ago (1: the
 * latest): a store that generated an append's ids and encodes it right away asks, for its
 * i-th of n records, `back` = n - i. -1 otherwise (any other string, or an id made too long
 * ago), and the caller encodes the id itself.
 */
export function recentId(id: string, back: number): number {
  if (back < 1 || back > KEPT || back > made) return -1;
  const slot = (made - back) & (KEPT - 1);
  return keptIds[slot] === id ? slot : -1;
}

/** Writes the id `recentId` found at `slot` as UTF-8 at `at` (before KEPT more ids are made). */
export function writeRecentId(slot: number, bytes: Uint8Array, at: number): void {
  bytes.set(keptPrefixes[slot]!, at);
  const counterText = HEX[keptCounters[slot]!]!;
  bytes[at + PREFIX_LENGTH] = counterText.charCodeAt(0);
  bytes[at + PREFIX_LENGTH + 1] = counterText.charCodeAt(1);
}

function newBlock(timestamp: number): void {
  crypto.getRandomValues(random);
  const time = Math.max(0, Math.floor(timestamp)).toString(16).padStart(12, "0").slice(-12);
  const r = random;
  const text = `${time.slice(0, 8)}-${time.slice(8)}-7${HEX[r[0]!]![1]}${HEX[r[1]!]}-${VARIANT[r[2]! & 3]}${
    HEX[r[3]!]![1]
  }${HEX[r[4]!]}-${HEX[r[5]!]}${HEX[r[6]!]}${HEX[r[7]!]}${HEX[r[8]!]}${HEX[r[9]!]}`;
  // Flattened once here (a rope would be walked again for every id built on it).
  prefix = String.fromCharCode(...Array.from(text, (c) => c.charCodeAt(0)));
  prefixBytes = Uint8Array.from(text.slice(0, PREFIX_LENGTH), (c) => c.charCodeAt(0));
  blockMs = timestamp;
  counter = 0;
}
