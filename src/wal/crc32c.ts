/**
 * CRC32C (Castagnoli), the checksum LevelDB, RocksDB, etcd and ext4 put on log records.
 *
 * Two ways, one result. On a buffer made by `checksummedBuffer` (the read window recovery
 * scans the log through, the WAL writer's copy of each span it seals), slice-by-16 in
 * WebAssembly (crc32c.wat says why it is faster): about twice JavaScript's speed on Node
 * and Bun. On any other buffer, slice-by-16 in JavaScript where the range is word-aligned,
 * slice-by-8 where it is not: the tables let the loop consume sixteen or eight bytes per
 * step. The npm packages that offer CRC32C in pure JavaScript walk the input one byte at
 * a time (one through a generic iterator), several times slower; recovery scans every byte
 * of the log, so the checksum's speed is the replay speed.
 */
import { CRC32C_WASM } from "./crc32c-wasm.ts";

const POLYNOMIAL = 0x82f63b78; // reflected 0x1EDC6F41

/**
 * Sixteen 256-entry tables back to back: Tk[n] is the CRC of byte n followed by k zero
 * bytes. Signed words, like the words of the data below: the loop only exclusive-ors
 * them, and V8 compiles an exclusive-or of an unsigned word above 2^31 that it guessed
 * would fit a signed one by deoptimizing the loop when one first comes.
 */
const TABLES = (() => {
  const tables = new Int32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    tables[n] = c >>> 0;
  }
  for (let t = 1; t < 16; t++) {
    for (let n = 0; n < 256; n++) {
      const previous = tables[(t - 1) * 256 + n];
      tables[t * 256 + n] = (previous >>> 8) ^ tables[previous & 0xff];
    }
  }
  return tables;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = Array.from({ length: 8 }, (_, t) => TABLES.subarray(t * 256, (t + 1) * 256));

/** Where a checksummed buffer begins in its module's memory: after the tables. */
const TABLES_BYTES = TABLES.byteLength;
const PAGE_BYTES = 65536;

/** The compiled module: undefined until first wanted, null where WebAssembly cannot run. */
let compiled: WebAssembly.Module | null | undefined;

function wasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Uint8Array.from(atob(CRC32C_WASM), (c) => c.charCodeAt(0)));
    } catch {
      compiled = null; // no WebAssembly here (a V8 run --jitless, say): JavaScript does it all
    }
  }
  return compiled;
}

/** CRC32C of `[start, end)` of one buffer (see checksumOf). */
export type Checksum = (start: number, end: number) => number;
/** crc32c.wat's: CRC32C of `[start, end)` of its module's memory, as a signed word. */
type WasmChecksum = (start: number, end: number) => number;
type Verify = (start: number, end: number, count: number) => number;
type Seal = (start: number, end: number) => number;

/** The WebAssembly functions of each checksummed buffer's memory (crc32c.wat). */
const checksums = new WeakMap<ArrayBufferLike, WasmChecksum>();
const verifiers = new WeakMap<ArrayBufferLike, Verify>();
const sealers = new WeakMap<ArrayBufferLike, Seal>();

/**
 * A zero-filled buffer of `length` bytes whose CRC32C `crc32c` computes in WebAssembly: a
 * module instance of its own, whose memory holds the tables and then the buffer. Made
 * seldom (a read window, when it grows), so an instance each costs nothing that matters.
 * Where WebAssembly cannot run, a plain Uint8Array.
 */
export function checksummedBuffer(length: number): Uint8Array {
  const module = wasmModule();
  if (module === null) return new Uint8Array(length);
  const instance = new WebAssembly.Instance(module, {});
  const memory = instance.exports.memory as WebAssembly.Memory;
  memory.grow(Math.ceil((TABLES_BYTES + length) / PAGE_BYTES) - memory.buffer.byteLength / PAGE_BYTES);
  new Int32Array(memory.buffer, 0, TABLES.length).set(TABLES);
  checksums.set(memory.buffer, instance.exports.crc32c as WasmChecksum);
  verifiers.set(memory.buffer, instance.exports.verify as Verify);
  sealers.set(memory.buffer, instance.exports.seal as Seal);
  return new Uint8Array(memory.buffer, TABLES_BYTES, length);
}

/**
 * Where, from `start`, the run of (at most `count`) WAL records of `bytes[start, end)` whose
 * checksums hold ends (docs/wal-format.md: each record's CRC32C at 0, its length at 4, the
 * next at the length rounded up to 8): the records that begin before it need no checksum
 * of their own. One call checks a whole read window in WebAssembly (crc32c.wat says why);
 * on a buffer that is not a checksummed one it checks nothing and returns `start`.
 */
export function verifiedRecordsEnd(bytes: Uint8Array, start: number, end: number, count = 0x7fffffff): number {
  const verify = verifiers.get(bytes.buffer);
  if (verify === undefined || start < 0 || end > bytes.length || start > end) return start;
  return verify(bytes.byteOffset + start, bytes.byteOffset + end, count) - bytes.byteOffset;
}

/**
 * Seals the WAL records of `bytes[start, end)`, whole records back to back: stores each
 * one's CRC32C (of its bytes 4 .. length-1) at its offset 0 (docs/wal-format.md). Returns
 * the last one's CRC (0 if there is none). In one WebAssembly call on a checksummed
 * buffer (the WAL writer copies each span of its ring into one), else record by record
 * in JavaScript.
 */
export function sealRecords(bytes: Uint8Array, start: number, end: number): number {
  const seal = sealers.get(bytes.buffer);
  if (seal !== undefined) return seal(bytes.byteOffset + start, bytes.byteOffset + end) >>> 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const checksum = checksumOf(bytes);
  let last = 0;
  for (let at = start; at + 8 <= end;) {
    const length = view.getUint32(at + 4, true);
    if (length < 8 || length > end - at) break;
    last = checksum(at + 4, at + length);
    view.setUint32(at, last, true);
    at += (length + 7) & ~7;
  }
  return last;
}

/** Whether typed arrays (which use the platform's byte order) are little-endian. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/**
 * CRC32C of ranges of `bytes` (offsets into it), bound to it: in WebAssembly on a
 * checksummed buffer, else in JavaScript over 32-bit words of its whole memory (records
 * are 4-byte aligned in the ring and in segment reads, so the loop loads words, not
 * bytes). Unlike `crc32c`, it never asks which array it was given: when the WAL writer
 * checksummed its ring with one, that branch was taken only by a segment header's
 * checksum, V8 had no type feedback for it (each new writer thread compiles its code
 * afresh), and taking it threw away the optimized checksum at the first segment roll.
 */
export function checksumOf(bytes: Uint8Array): Checksum {
  const offset = bytes.byteOffset;
  const wasm = checksums.get(bytes.buffer);
  if (wasm !== undefined) return (start, end) => wasm(offset + start, offset + end) >>> 0;
  const words = new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
  return (start, end) => crcInJavaScript(bytes, words, offset, start, end);
}

// The array of the last call and its checksum: a call on the same array as the one before
// (a record after another) makes none.
let lastBytes: Uint8Array | undefined;
let lastChecksum: Checksum | undefined;

/** CRC32C of `bytes[start, end)`. Throws RangeError on a range outside `bytes`. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (start < 0 || end > bytes.length || start > end) throw new RangeError(`CRC32C of bytes [${start}, ${end}) of ${bytes.length}`);
  if (bytes !== lastBytes) {
    lastChecksum = checksumOf(bytes);
    lastBytes = bytes;
  }
  return lastChecksum!(start, end);
}

/** CRC32C of `bytes[start, end)`, `words` being 32-bit words of its buffer from the buffer's start, `byteOffset` where `bytes` begins in it. */
function crcInJavaScript(bytes: Uint8Array, words: Int32Array<ArrayBufferLike>, byteOffset: number, start: number, end: number): number {
  // -1, not 0xffffffff: the same 32 bits, and an integer the compiler keeps in a register
  // (0xffffffff is a double to it, and the first exclusive-or of one deoptimized the loop).
  let crc = -1;
  let i = start;
  const aligned = byteOffset + start;
  if (LITTLE_ENDIAN && (aligned & 3) === 0 && end - start >= 16) {
    let w = aligned >>> 2;
    // Sixteen bytes a step (Bun and Deno: a fifth less time than eight; Node: the same),
    // then at most one step of eight.
    for (; i + 16 <= end; i += 16, w += 4) {
      const a = crc ^ words[w];
      const b = words[w + 1];
      const c = words[w + 2];
      const d = words[w + 3];
      crc = TABLES[3840 + (a & 0xff)] ^ TABLES[3584 + ((a >>> 8) & 0xff)] ^ TABLES[3328 + ((a >>> 16) & 0xff)] ^ TABLES[3072 + (a >>> 24)] ^
        TABLES[2816 + (b & 0xff)] ^ TABLES[2560 + ((b >>> 8) & 0xff)] ^ TABLES[2304 + ((b >>> 16) & 0xff)] ^ TABLES[2048 + (b >>> 24)] ^
        T7[c & 0xff] ^ T6[(c >>> 8) & 0xff] ^ T5[(c >>> 16) & 0xff] ^ T4[c >>> 24] ^
        T3[d & 0xff] ^ T2[(d >>> 8) & 0xff] ^ T1[(d >>> 16) & 0xff] ^ T0[d >>> 24];
    }
    if (i + 8 <= end) {
      const low = crc ^ words[w];
      const high = words[w + 1];
      crc = T7[low & 0xff] ^ T6[(low >>> 8) & 0xff] ^ T5[(low >>> 16) & 0xff] ^ T4[low >>> 24] ^
        T3[high & 0xff] ^ T2[(high >>> 8) & 0xff] ^ T1[(high >>> 16) & 0xff] ^ T0[high >>> 24];
      i += 8;
    }
  } else {
    for (; i + 8 <= end; i += 8) {
      const low = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
      crc = T7[low & 0xff] ^ T6[(low >>> 8) & 0xff] ^ T5[(low >>> 16) & 0xff] ^ T4[low >>> 24] ^
        T3[bytes[i + 4]] ^ T2[bytes[i + 5]] ^ T1[bytes[i + 6]] ^ T0[bytes[i + 7]];
    }
  }
  for (; i < end; i++) crc = (crc >>> 8) ^ T0[(crc ^ bytes[i]) & 0xff];
  return ~crc >>> 0;
}
