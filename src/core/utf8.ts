/**
 * UTF-8 length and writing for the WAL encoder (and the core's check of event ids' length). Record strings (JSON, ids) are mostly
 * ASCII; a plain loop handles those several times faster than TextEncoder (Deno's
 * `encode` costs ~0.5 µs for a short string), and anything else goes to `encodeInto`.
 */
const encoder = new TextEncoder();

/** Exact UTF-8 byte length of `text`. */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 2; // a surrogate pair: 2 UTF-16 units, 4 bytes
        i++;
      } else length += 2;
    } else length += 2;
  }
  return length;
}

/** Writes `text` as UTF-8 at `offset`; `length` is its `utf8Length`. */
export function writeUtf8(text: string, bytes: Uint8Array, offset: number, length: number): void {
  if (length === text.length) {
    for (let i = 0; i < length; i++) bytes[offset + i] = text.charCodeAt(i);
    return;
  }
  encoder.encodeInto(text, bytes.subarray(offset, offset + length));
}

/**
 * Writes `text` as UTF-8 at `at` and returns the bytes written: one pass over an ASCII
 * string (where `utf8Length` then `writeUtf8` take two). `bytes` needs room for 3 bytes
 * per UTF-16 unit.
 */
export function encodeUtf8(text: string, bytes: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return i + encoder.encodeInto(text.slice(i), bytes.subarray(at + i)).written;
    bytes[at + i] = code;
  }
  return text.length;
}
