/**
 * JSON straight to UTF-8 bytes for the WAL encoder: the bytes `JSON.stringify` and a UTF-8
 * encoding of its result would give, in one pass and without the intermediate string.
 *
 * Why: on Node 20 (V8 11) `JSON.stringify` of a small event's data costs 0.3-0.4 µs, the
 * larger part of encoding a record, and the encoder then walked the string twice more
 * (its UTF-8 length, its bytes). Here plain data is written as it is walked.
 *
 * Plain data is what the writer handles itself: strings, numbers, booleans, null, arrays
 * and objects whose prototype is Object.prototype or null and that have no `toJSON`. As
 * `JSON.stringify` does, it leaves out object members that are undefined, functions or
 * symbols, writes them as null in arrays, and writes non-finite numbers as null. Anything
 * else met on the way (a Date or another object with `toJSON`, a class instance, a Map, a
 * BigInt, nesting deeper than MAX_DEPTH, which is how a cycle shows) hands the whole value
 * to `JSON.stringify`, so its rules and its errors apply unchanged.
 */
import { encodeUtf8 } from "../core/utf8.ts";

const MAX_DEPTH = 64;
const INITIAL_BYTES = 256;
const KEEP_BYTES = 1 << 20;
const HEX_DIGITS = "0123456789abcdef";

/** Writes one JSON value at a time into a growing byte array it owns. */
export class JsonWriter {
  /** The last value's JSON, in `bytes[0, length)`. */
  bytes = new Uint8Array(INITIAL_BYTES);
  length = 0;

  /**
   * Encodes `value`; returns its byte length, or -1 if `JSON.stringify` gives nothing for
   * it (undefined, a function, a symbol). Throws what `JSON.stringify` throws (a cycle, a BigInt).
   */
  write(value: unknown): number {
    this.length = 0;
    // A large event's room is not kept for the small ones after it.
    if (this.bytes.length > KEEP_BYTES) this.bytes = new Uint8Array(INITIAL_BYTES);
    if (!objectPrototypeEnumerates() && this.#value(value, 0)) return this.length;
    const json = JSON.stringify(value);
    if (json === undefined) return this.length = -1;
    this.length = 0;
    this.#reserve(json.length * 3);
    this.length = encodeUtf8(json, this.bytes, 0);
    return this.length;
  }

  /** Makes room for `more` bytes after `length`. */
  #reserve(more: number): void {
    const needed = this.length + more;
    if (needed <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** Writes `value`; false if it is not plain data (the caller then uses JSON.stringify). */
  #value(value: unknown, depth: number): boolean {
    switch (typeof value) {
      case "string":
        this.#string(value);
        return true;
      case "number":
        this.#ascii(Number.isFinite(value) ? String(value) : "null");
        return true;
      case "boolean":
        this.#ascii(value ? "true" : "false");
        return true;
      case "object":
        if (value === null) {
          this.#ascii("null");
          return true;
        }
        if (depth === MAX_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
        if (Array.isArray(value)) return this.#array(value, depth + 1);
        {
          const prototype = Object.getPrototypeOf(value);
          if (prototype !== Object.prototype && prototype !== null) return false;
        }
        return this.#object(value as Record<string, unknown>, depth + 1);
      default:
        return false;
    }
  }

  #array(array: readonly unknown[], depth: number): boolean {
    this.#byte(0x5b); // [
    for (let i = 0; i < array.length; i++) {
      if (i > 0) this.#byte(0x2c); // ,
      const item = array[i];
      if (omitted(item)) this.#ascii("null");
      else if (!this.#value(item, depth)) return false;
    }
    this.#byte(0x5d); // ]
    return true;
  }

  #object(object: Record<string, unknown>, depth: number): boolean {
    this.#byte(0x7b); // {
    let first = true;
    // for-in: own enumerable string keys in JSON.stringify's order, as Object.keys gives
    // them, without allocating their array, and V8 loads `object[key]` by field index.
    // It would add inherited ones: `write` gave up if Object.prototype has any.
    for (const key in object) {
      const item = object[key];
      if (omitted(item)) continue;
      if (!first) this.#byte(0x2c); // ,
      first = false;
      this.#string(key);
      this.#byte(0x3a); // :
      if (!this.#value(item, depth)) return false;
    }
    this.#byte(0x7d); // }
    return true;
  }

  #byte(byte: number): void {
    this.#reserve(1);
    this.bytes[this.length++] = byte;
  }

  /** Writes ASCII text that needs no escaping (numbers, literals). */
  #ascii(text: string): void {
    this.#reserve(text.length);
    const bytes = this.bytes;
    let at = this.length;
    for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** Writes a quoted, escaped string as UTF-8 (JSON.stringify's escapes: lowercase \u, lone surrogates escaped). */
  #string(text: string): void {
    // At most 6 bytes per UTF-16 unit (a \u escape), and the quotes.
    this.#reserve(text.length * 6 + 2);
    const bytes = this.bytes;
    let at = this.length;
    bytes[at++] = 0x22;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x80) {
        if (code >= 0x20 && code !== 0x22 && code !== 0x5c) {
          bytes[at++] = code;
          continue;
        }
        bytes[at++] = 0x5c; // backslash
        const short = SHORT_ESCAPES[code];
        if (short !== undefined) bytes[at++] = short;
        else at = unicodeEscape(bytes, at, code);
      } else if (code < 0x800) {
        bytes[at++] = 0xc0 | (code >> 6);
        bytes[at++] = 0x80 | (code & 0x3f);
      } else if (code < 0xd800 || code > 0xdfff) {
        bytes[at++] = 0xe0 | (code >> 12);
        bytes[at++] = 0x80 | ((code >> 6) & 0x3f);
        bytes[at++] = 0x80 | (code & 0x3f);
      } else {
        const next = code <= 0xdbff && i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (next >= 0xdc00 && next <= 0xdfff) {
          const point = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          bytes[at++] = 0xf0 | (point >> 18);
          bytes[at++] = 0x80 | ((point >> 12) & 0x3f);
          bytes[at++] = 0x80 | ((point >> 6) & 0x3f);
          bytes[at++] = 0x80 | (point & 0x3f);
          i++;
        } else {
          bytes[at++] = 0x5c;
          at = unicodeEscape(bytes, at, code); // a lone surrogate
        }
      }
    }
    bytes[at++] = 0x22;
    this.length = at;
  }
}

/** Whether something added an enumerable property to Object.prototype (for-in would meet it). */
function objectPrototypeEnumerates(): boolean {
  for (const _ in EMPTY) return true;
  return false;
}
const EMPTY = {};

/** Members JSON.stringify leaves out of objects (and writes as null in arrays). */
const omitted = (value: unknown): boolean =>
  value === undefined || typeof value === "function" || typeof value === "symbol";

/** The one-letter escapes after a backslash, by character code. */
const SHORT_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x08: 0x62, 0x0c: 0x66, 0x0a: 0x6e, 0x0d: 0x72, 0x09: 0x74 };

/** Writes `u` and four lowercase hex digits of `code` (after a backslash already written). */
function unicodeEscape(bytes: Uint8Array, at: number, code: number): number {
  bytes[at++] = 0x75; // u
  for (let shift = 12; shift >= 0; shift -= 4) bytes[at++] = HEX_DIGITS.charCodeAt((code >> shift) & 15);
  return at;
}
