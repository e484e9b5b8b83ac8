/**
 * Where a segment file's data ends. The writer sizes each segment ahead of its records
 * (segment.ts), so a segment a crash left open ends in zeros that no write reached. Zeros
 * from a record boundary to the end of the file are the end of its records, not damage:
 * a record always has a non-zero length word, and what a lost write took is found the way
 * it always is (a later segment must start at the next position and link to the last
 * record). The zeros also carry nothing worth keeping, so bytes cut from a segment are
 * saved aside without them.
 */
import type { FileHandle, FileSystem } from "./file-system.ts";
import type { ReadWindow } from "./read-window.ts";

/**
 * Where the data of `file` in [from, size) ends: after its last non-zero byte, rounded up
 * to 8 bytes (records start 8-aligned and are padded with zeros to 8: a record's padding
 * is part of it), or `from` if it is all zeros. Read backwards through `window` (whose
 * bytes it overwrites).
 */
export function dataEnd(file: FileHandle, window: ReadWindow, from: number, size: number): number {
  for (let end = size; end > from;) {
    const start = Math.max(from, end - window.bytes);
    const bytes = window.read(file, start, end - start);
    const last = lastNonZero(bytes);
    if (last >= 0) return Math.min(size, Math.ceil((start + last + 1) / 8) * 8);
    end = start;
  }
  return from;
}

/** The bytes of the file at `path` from `offset` to the end of its data (dataEnd). */
export function readTail(fs: FileSystem, path: string, offset: number, window: ReadWindow): Uint8Array {
  const file = fs.openRead(path);
  try {
    const bytes = new Uint8Array(Math.max(0, dataEnd(file, window, offset, file.size()) - offset));
    return bytes.subarray(0, file.readAt(bytes, offset));
  } finally {
    file.close();
  }
}

/** The index of the last non-zero byte of `bytes`, or -1; a word at a time where it can. */
function lastNonZero(bytes: Uint8Array): number {
  const unaligned = Math.min(bytes.length, (4 - (bytes.byteOffset & 3)) & 3);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + unaligned, (bytes.length - unaligned) >> 2);
  const wordsEnd = unaligned + 4 * words.length;
  for (let at = bytes.length - 1; at >= wordsEnd; at--) if (bytes[at] !== 0) return at;
  for (let word = words.length - 1; word >= 0; word--) {
    if (words[word] === 0) continue;
    for (let at = unaligned + 4 * word + 3;; at--) if (bytes[at] !== 0) return at;
  }
  for (let at = unaligned - 1; at >= 0; at--) if (bytes[at] !== 0) return at;
  return -1;
}
