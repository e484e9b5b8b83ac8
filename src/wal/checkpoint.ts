/**
 * `index.checkpoint`: what opening a large log would otherwise rebuild by reading every
 * segment: the segments' indexes (records, bytes, sparse offsets) and the store's index
 * (src/core/index-checkpoint.ts), as of a durable position at an append boundary. Opening
 * trusts the records it covers without reading them again (their CRCs were checked when
 * they were first recovered or written; `eventfold verify` checks them all), and scans only
 * what follows. Layout, little-endian:
 *
 *   0  u32  CRC32C of bytes [4, end)
 *   4  u32  magic "EFCK"      8  u32  format 1
 *  12  16 bytes  log id      28  f64  position (the last record covered)
 *  36  f64  offset of that record in its segment   44  u32  its CRC32C
 *  48  u32  segments, then per segment: f64 first position, f64 bytes, f64 records,
 *           u32 sparse entries, then that many f64 offsets
 *      u32  length of the store's index, then its bytes
 *
 * The checkpoint holds only while the records it covers are unchanged: before it is used,
 * the segment names must match, and the last covered record must be in its file, whole,
 * at its offset, with its CRC. Anything else (a repair, a scavenge, another log) and it is
 * ignored, and removed; a scavenge removes it before it changes a segment.
 */
import { crc32c } from "./crc32c.ts";
import { type FileSystem, joinPath, writeFileAtomically } from "./file-system.ts";
import { checkRecord, paddedLength, recordPosition } from "./record-format.ts";
import { decodeSegmentHeader, hexOf, LOG_ID_BYTES, SEGMENT_HEADER_BYTES, segmentName, writeLogId } from "./segment.ts";
import { type SegmentIndex, SPARSE_EVERY } from "./recovery.ts";
import { StorageError } from "../core/errors.ts";

export const CHECKPOINT = "index.checkpoint";
const MAGIC = 0x4b434645; // "EFCK"
const FORMAT = 1;

/** A WAL checkpoint: the segments as of `position`, and the store's index. */
export interface WalCheckpoint {
  logId: string;
  position: number;
  /** Offset of the last covered record in the last segment, and its CRC. */
  lastOffset: number;
  lastCrc: number;
  /** The covered segments; the last one as far as `position`. */
  segments: SegmentIndex[];
  /** The store's index (opaque here). */
  index: Uint8Array;
}

/**
 * The segments as of `position` (a written record): copies of those before its segment, and
 * its segment cut after it, with the record's offset and CRC read back from the file by
 * `read(segment, start, end)`.
 */
export function coveredSegments(
  segments: readonly SegmentIndex[],
  position: number,
  read: (segment: SegmentIndex, start: number, end: number) => Uint8Array,
): Pick<WalCheckpoint, "segments" | "lastOffset" | "lastCrc"> {
  const index = segments.findLastIndex((segment) => segment.firstPosition <= position);
  const segment = segments[index]!;
  const records = position - segment.firstPosition + 1;
  const k = Math.floor((records - 1) / SPARSE_EVERY);
  const start = segment.sparse[k]!;
  const bytes = read(segment, start, k + 1 < segment.sparse.length ? segment.sparse[k + 1]! : segment.bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (let p = segment.firstPosition + k * SPARSE_EVERY; p < position; p++) offset += paddedLength(view.getUint32(offset + 4, true));
  const length = checkRecord(bytes, view, offset, bytes.length);
  if (typeof length !== "number" || recordPosition(view, offset) !== position) {
    throw new StorageError(`WAL record at position ${position} failed to read back for the checkpoint (${length})`, {
      file: segment.name,
      offset: start + offset,
    });
  }
  const copies = segments.slice(0, index).map((s) => ({ ...s, sparse: [...s.sparse] }));
  copies.push({ ...segment, records, bytes: start + offset + paddedLength(length), sparse: segment.sparse.slice(0, k + 1) });
  return { segments: copies, lastOffset: start + offset, lastCrc: view.getUint32(offset, true) };
}

/** Writes the checkpoint atomically (temp, fsync, rename, directory fsync), replacing the last. */
export function writeCheckpoint(fs: FileSystem, directory: string, checkpoint: WalCheckpoint): void {
  let size = 52 + 4 + checkpoint.index.length;
  for (const segment of checkpoint.segments) size += 28 + 8 * segment.sparse.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let at = 4;
  const u32 = (value: number) => void (view.setUint32(at, value, true), at += 4);
  const f64 = (value: number) => void (view.setFloat64(at, value, true), at += 8);
  u32(MAGIC);
  u32(FORMAT);
  writeLogId(checkpoint.logId, bytes, at);
  at += LOG_ID_BYTES;
  f64(checkpoint.position);
  f64(checkpoint.lastOffset);
  u32(checkpoint.lastCrc);
  u32(checkpoint.segments.length);
  for (const segment of checkpoint.segments) {
    f64(segment.firstPosition);
    f64(segment.bytes);
    f64(segment.records);
    u32(segment.sparse.length);
    for (const offset of segment.sparse) f64(offset);
  }
  u32(checkpoint.index.length);
  bytes.set(checkpoint.index, at);
  view.setUint32(0, crc32c(bytes, 4, bytes.length), true);
  writeFileAtomically(fs, directory, CHECKPOINT, bytes);
}

/**
 * The checkpoint in `directory`, if there is one and it still holds for the segments
 * `names` (sorted); one that does not is removed.
 */
export function loadCheckpoint(fs: FileSystem, directory: string, names: readonly string[]): WalCheckpoint | undefined {
  const path = joinPath(directory, CHECKPOINT);
  if (!fs.exists(path)) return undefined;
  let checkpoint: WalCheckpoint | undefined;
  try {
    checkpoint = decode(fs.readFile(path));
  } catch {
    checkpoint = undefined; // cut short or not ours: the log is read instead
  }
  if (checkpoint !== undefined && holds(fs, directory, names, checkpoint)) return checkpoint;
  discardCheckpoint(fs, directory);
  return undefined;
}

/** Removes the checkpoint (before anything changes the records it covers). */
export function discardCheckpoint(fs: FileSystem, directory: string): void {
  const path = joinPath(directory, CHECKPOINT);
  if (!fs.exists(path)) return;
  fs.remove(path);
  fs.syncDirectory(directory);
}

function decode(bytes: Uint8Array): WalCheckpoint | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 56 || view.getUint32(0, true) !== crc32c(bytes, 4, bytes.length)) return undefined;
  let at = 4;
  const u32 = () => (at += 4, view.getUint32(at - 4, true));
  const f64 = () => (at += 8, view.getFloat64(at - 8, true));
  if (u32() !== MAGIC || u32() !== FORMAT) return undefined;
  const logId = hexOf(bytes.subarray(at, at += LOG_ID_BYTES));
  const position = f64();
  const lastOffset = f64();
  const lastCrc = u32();
  const segments: SegmentIndex[] = [];
  for (let i = u32(); i > 0; i--) {
    const firstPosition = f64();
    const segmentBytes = f64();
    const records = f64();
    const sparse = Array.from({ length: u32() }, f64);
    segments.push({ name: segmentName(firstPosition), firstPosition, bytes: segmentBytes, records, sparse });
  }
  const length = u32();
  if (at + length !== bytes.length || segments.length === 0) return undefined;
  return { logId, position, lastOffset, lastCrc, segments, index: bytes.slice(at) };
}

/** Whether the records the checkpoint covers are still those of the log (see the module comment). */
function holds(fs: FileSystem, directory: string, names: readonly string[], checkpoint: WalCheckpoint): boolean {
  const { segments } = checkpoint;
  if (names.length < segments.length || segments.some((segment, i) => names[i] !== segment.name)) return false;
  const last = segments.at(-1)!;
  if (last.firstPosition + last.records - 1 !== checkpoint.position) return false;
  // A sealed segment never changes size: one that did was cut, replaced or repaired.
  for (const segment of segments.slice(0, -1)) if (sizeOf(fs, directory, segment.name) !== segment.bytes) return false;
  const handle = fs.openRead(joinPath(directory, last.name));
  try {
    const length = last.bytes - checkpoint.lastOffset;
    if (length < 8 || handle.size() < last.bytes) return false;
    const record = new Uint8Array(length);
    if (handle.readAt(record, checkpoint.lastOffset) !== length) return false;
    const view = new DataView(record.buffer);
    const checked = checkRecord(record, view, 0, length);
    return typeof checked === "number" && paddedLength(checked) === length && recordPosition(view, 0) === checkpoint.position &&
      view.getUint32(0, true) === checkpoint.lastCrc && readLogId(fs, directory, segments[0]!.name) === checkpoint.logId;
  } finally {
    handle.close();
  }
}

function sizeOf(fs: FileSystem, directory: string, name: string): number {
  const handle = fs.openRead(joinPath(directory, name));
  try {
    return handle.size();
  } finally {
    handle.close();
  }
}

function readLogId(fs: FileSystem, directory: string, name: string): string | undefined {
  const handle = fs.openRead(joinPath(directory, name));
  try {
    const header = new Uint8Array(SEGMENT_HEADER_BYTES);
    handle.readAt(header, 0);
    const decoded = decodeSegmentHeader(header);
    return "problem" in decoded ? undefined : decoded.logId;
  } finally {
    handle.close();
  }
}
