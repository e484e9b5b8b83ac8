/**
 * CRC32C (Castagnoli), the checksum LevelDB, RocksDB, etcd and ext4 put on log records.
 *
 * Slice-by-8: eight 256-entry tables let the loop consume eight bytes per step. The npm
 * packages that offer CRC32C in pure JavaScript walk the input one byte at a time (one
 * through a generic iterator), several times slower; recovery scans every byte of the
 * log, so the checksum's speed is the replay speed.
 */
const POLYNOMIAL = 0x82f63b78; // reflected 0x1EDC6F41

const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) {
      const previous = tables[t - 1][n];
      tables[t][n] = (previous >>> 8) ^ tables[0][previous & 0xff];
    }
  }
  return tables;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// A 32-bit view of the last buffer seen: records are 4-byte aligned in the ring and in
// segment reads, so the loop can load two words instead of eight bytes per step.
let wordsOf: ArrayBufferLike | undefined;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/** CRC32C of `bytes[start, end)`. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  let i = start;
  const aligned = bytes.byteOffset + start;
  if (LITTLE_ENDIAN && (aligned & 3) === 0 && end - start >= 16) {
    if (bytes.buffer !== wordsOf) {
      wordsOf = bytes.buffer;
      words = new Uint32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
    }
    for (let w = aligned >>> 2; i + 8 <= end; i += 8, w += 2) {
      const low = crc ^ words[w];
      const high = words[w + 1];
      crc = T7[low & 0xff] ^ T6[(low >>> 8) & 0xff] ^ T5[(low >>> 16) & 0xff] ^ T4[low >>> 24] ^
        T3[high & 0xff] ^ T2[(high >>> 8) & 0xff] ^ T1[(high >>> 16) & 0xff] ^ T0[high >>> 24];
    }
  } else {
    for (; i + 8 <= end; i += 8) {
      const low = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
      crc = T7[low & 0xff] ^ T6[(low >>> 8) & 0xff] ^ T5[(low >>> 16) & 0xff] ^ T4[low >>> 24] ^
        T3[bytes[i + 4]] ^ T2[bytes[i + 5]] ^ T1[bytes[i + 6]] ^ T0[bytes[i + 7]];
    }
  }
  for (; i < end; i++) crc = (crc >>> 8) ^ T0[(crc ^ bytes[i]) & 0xff];
  return (crc ^ 0xffffffff) >>> 0;
}
