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
 * same 66 bits in the same millisecond. A busy store starts a block every millisecond or
 * so: the prefix is laid out as character codes (a template string turned flat cost
 * microseconds), from random bytes drawn a few kilobytes at a time (one
 * `getRandomValues` call costs microseconds on Node).
 */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
const HYPHEN = 0x2d;
/** Random bytes, used RANDOM_PER_BLOCK at a time. */
const RANDOM_PER_BLOCK = 10;
const random = new Uint8Array(RANDOM_PER_BLOCK * 256);
let randomUsed = random.length;
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
  hexByte(bytes, at + PREFIX_LENGTH, keptCounters[slot]!);
}

function newBlock(timestamp: number): void {
  if (randomUsed === random.length) {
    crypto.getRandomValues(random);
    randomUsed = 0;
  }
  const r = randomUsed;
  randomUsed += RANDOM_PER_BLOCK;
  // tttttttt-tttt-7rrr-vrrr-rrrrrrrrrr: 48 bits of time, version 7, 12 random bits,
  // variant 10 and 14 random bits, 40 random bits (the last 8 are the block's counter).
  const codes = new Array<number>(PREFIX_LENGTH);
  let time = Math.max(0, Math.floor(timestamp));
  for (let digit = 11; digit >= 0; digit--) {
    codes[digit < 8 ? digit : digit + 1] = HEX_CODES[time % 16]!;
    time = Math.floor(time / 16);
  }
  codes[8] = HYPHEN;
  codes[13] = HYPHEN;
  codes[14] = 0x37; // 7
  codes[15] = HEX_CODES[random[r]! & 15]!;
  hexByte(codes, 16, random[r + 1]!);
  codes[18] = HYPHEN;
  codes[19] = HEX_CODES[8 | (random[r + 2]! & 3)]!;
  codes[20] = HEX_CODES[random[r + 3]! & 15]!;
  hexByte(codes, 21, random[r + 4]!);
  codes[23] = HYPHEN;
  for (let i = 0; i < 5; i++) hexByte(codes, 24 + 2 * i, random[r + 5 + i]!);
  prefix = String.fromCharCode(...codes);
  prefixBytes = Uint8Array.from(codes);
  blockMs = timestamp;
  counter = 0;
}

/** Two lowercase hex digits of `byte` at `at` (character codes, or UTF-8 bytes). */
function hexByte(codes: { [index: number]: number }, at: number, byte: number): void {
  codes[at] = HEX_CODES[byte >> 4]!;
  codes[at + 1] = HEX_CODES[byte & 15]!;
}
