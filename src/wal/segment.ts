/**
 * Segment files: `segment-<first position, 16 digits>.wal`, each opening with a 32-byte
 * header, then records back to back. A segment is created as a temp file, synced,
 * renamed, and the directory synced, so a segment name on disk always has a whole header.
 *
 *   0  8 bytes  magic "EVFOLDWL"
 *   8  u32      format version (1)
 *  12  u32      salt: random per segment, tells apart files that look alike
 *  16  u64      position of the segment's first record
 *  24  u32      reserved, 0
 *  28  u32      CRC32C of bytes [0, 28)
 */
import { crc32c } from "./crc32c.ts";
import { type FileHandle, type FileSystem, joinPath, writeFileAtomically } from "./file-system.ts";

export const SEGMENT_HEADER_BYTES = 32;
export const FORMAT_VERSION = 1;
const MAGIC = new TextEncoder().encode("EVFOLDWL");
const NAME = /^segment-(\d{16})\.wal$/;
/**
 * The temp files the WAL itself makes in its directory (writeFileAtomically): a segment
 * being created, or a cut tail being saved aside. Recovery removes these and no other.
 */
const TEMP_NAME = /^segment-\d{16}\.wal(\.broken-\d+)?\.tmp$/;

/** Whether `name` is one of the WAL's own temp files (see TEMP_NAME). */
export const isWalTempName = (name: string): boolean => TEMP_NAME.test(name);

export const segmentName = (firstPosition: number): string =>
  `segment-${String(firstPosition).padStart(16, "0")}.wal`;

/** First position encoded in a segment's name, or undefined if it is not a segment. */
export function parseSegmentName(name: string): number | undefined {
  const match = NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}

export function encodeSegmentHeader(firstPosition: number, salt: number): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, salt >>> 0, true);
  view.setUint32(16, firstPosition % 0x1_0000_0000, true);
  view.setUint32(20, Math.floor(firstPosition / 0x1_0000_0000), true);
  view.setUint32(28, crc32c(bytes, 0, 28), true);
  return bytes;
}

/** Reads a segment header; returns the first position or a description of what is wrong. */
export function decodeSegmentHeader(bytes: Uint8Array): { firstPosition: number } | { problem: string } {
  if (bytes.length < SEGMENT_HEADER_BYTES) return { problem: "segment header is cut short" };
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) return { problem: "not a WAL segment (bad magic)" };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.getUint32(28, true) !== crc32c(bytes, 0, 28)) return { problem: "segment header checksum mismatch" };
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) return { problem: `unsupported WAL format version ${version}` };
  return { firstPosition: view.getUint32(16, true) + view.getUint32(20, true) * 0x1_0000_0000 };
}

/** Creates a segment (temp, fsync, rename, directory fsync) and opens it for appending. */
export function createSegment(fs: FileSystem, directory: string, firstPosition: number): FileHandle {
  const name = segmentName(firstPosition);
  const salt = (Math.random() * 0x1_0000_0000) >>> 0;
  writeFileAtomically(fs, directory, name, encodeSegmentHeader(firstPosition, salt));
  return fs.openAppend(joinPath(directory, name));
}
