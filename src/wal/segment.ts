/**
 * Segment files: `segment-<first position, 16 digits>.wal`, each opening with a 48-byte
 * header, then records back to back. A segment is created as a temp file, synced,
 * renamed, and the directory synced, so a segment name on disk always has a whole header.
 *
 *   0  8 bytes  magic "EVFOLDWL"
 *   8  u32      format version (3; 2 is read too: its records never carry an id)
 *  12  u32      reserved, 0
 *  16  16 bytes log id: random, chosen when the log's first segment is created and
 *               copied into every later one; a segment of another log is refused
 *  32  u64      position of the segment's first record
 *  40  u32      link: the CRC32C of the log's record just before this segment (0 for the
 *               first segment), so each segment names its predecessor (as etcd chains
 *               its CRCs) and a segment of a fork or a stray copy cannot pass as the next
 *  44  u32      CRC32C of bytes [0, 44)
 */
import { crc32c } from "./crc32c.ts";
import { type FileHandle, type FileSystem, joinPath, writeFileAtomically } from "./file-system.ts";

export const SEGMENT_HEADER_BYTES = 48;
export const FORMAT_VERSION = 3;
/** Older versions this one reads: 2 (records without event ids; the layout is otherwise the same). */
const READABLE_VERSIONS = [2, 3];
/** Bytes of a log id. */
export const LOG_ID_BYTES = 16;
const MAGIC = new TextEncoder().encode("EVFOLDWL");
const NAME = /^segment-(\d{16})\.wal$/;
/**
 * The temp files the WAL itself makes in its directory (writeFileAtomically): a segment
 * being created, or cut bytes being saved aside. Recovery removes these and no other.
 */
const TEMP_NAME = /^segment-\d{16}\.wal(\.broken(-\d+)?(\.\d+)?)?\.tmp$/;

/** Whether `name` is one of the WAL's own temp files (see TEMP_NAME). */
export const isWalTempName = (name: string): boolean => TEMP_NAME.test(name);

export const segmentName = (firstPosition: number): string =>
  `segment-${String(firstPosition).padStart(16, "0")}.wal`;

/** First position encoded in a segment's name, or undefined if it is not a segment. */
export function parseSegmentName(name: string): number | undefined {
  const match = NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** What a segment header says. */
export interface SegmentHeader {
  /** The log this segment belongs to (hex). */
  logId: string;
  /** Position of its first record. */
  firstPosition: number;
  /** CRC32C of the log's record just before it (0 for the first segment). */
  link: number;
}

/** Bytes as lowercase hex (log ids). */
export const hexOf = (bytes: Uint8Array): string => [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/** Writes a hex log id's bytes into `bytes` at `at` (hexOf's inverse). */
export function writeLogId(logId: string, bytes: Uint8Array, at: number): void {
  for (let i = 0; i < LOG_ID_BYTES; i++) bytes[at + i] = Number.parseInt(logId.slice(2 * i, 2 * i + 2), 16);
}

/** A new random log id, as hex. */
export function newLogId(): string {
  return hexOf(crypto.getRandomValues(new Uint8Array(LOG_ID_BYTES)));
}

export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  writeLogId(header.logId, bytes, 16);
  view.setUint32(32, header.firstPosition % 0x1_0000_0000, true);
  view.setUint32(36, Math.floor(header.firstPosition / 0x1_0000_0000), true);
  view.setUint32(40, header.link >>> 0, true);
  view.setUint32(44, crc32c(bytes, 0, 44), true);
  return bytes;
}

/** Reads a segment header; returns what it says or a description of what is wrong. */
export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeader | { problem: string } {
  if (bytes.length < SEGMENT_HEADER_BYTES) return { problem: "segment header is cut short" };
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) return { problem: "not a WAL segment (bad magic)" };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  const version = view.getUint32(8, true);
  if (!READABLE_VERSIONS.includes(version)) {
    return { problem: `WAL format version ${version}, this eventfold reads versions ${READABLE_VERSIONS.join(" and ")}` };
  }
  if (view.getUint32(44, true) !== crc32c(bytes, 0, 44)) return { problem: "segment header checksum mismatch" };
  return {
    logId: hexOf(bytes.subarray(16, 16 + LOG_ID_BYTES)),
    firstPosition: view.getUint32(32, true) + view.getUint32(36, true) * 0x1_0000_0000,
    link: view.getUint32(40, true),
  };
}

/**
 * The segment the writer appends to, sized ahead to the segment size: on ext4 an
 * fdatasync after a write that grew the file must also commit the new size through the
 * journal, where one after a write inside the file flushes the data alone (one-event
 * appends on this project's machine: 241 µs each against 165 µs; `sync` mode 1.41-1.46x).
 * Sealing cuts the file back to its records, so a crash leaves zeros at the end of the
 * log's last segment only; recovery reads zeros at a segment's end as the end of its
 * records (zero-tail.ts).
 */
export class SegmentFile {
  constructor(
    private readonly handle: FileHandle,
    /** Where the next record goes: the end of the records. */
    private end: number,
  ) {}

  append(bytes: Uint8Array, offset: number, length: number): void {
    this.handle.writeAt(bytes, offset, length, this.end);
    this.end += length;
  }

  sync(): void {
    this.handle.syncData();
  }

  /** Cuts the zeros after the records and syncs: what a crash leaves of a sealed segment is its records. */
  seal(): void {
    this.handle.resize(this.end);
    this.handle.syncData();
  }

  close(): void {
    this.handle.close();
  }
}

/**
 * Creates a segment of `size` bytes (the header, then zeros; temp, fsync, rename, directory
 * fsync) and opens it for appending.
 */
export function createSegment(fs: FileSystem, directory: string, header: SegmentHeader, size: number): SegmentFile {
  const name = segmentName(header.firstPosition);
  writeFileAtomically(fs, directory, name, encodeSegmentHeader(header), size);
  return new SegmentFile(fs.openWrite(joinPath(directory, name)), SEGMENT_HEADER_BYTES);
}

/**
 * Opens a recovered segment whose records end at `end` for appending, sizing it ahead to
 * `size` bytes (the first fdatasync makes the new size durable with the first records).
 */
export function openSegment(fs: FileSystem, path: string, end: number, size: number): SegmentFile {
  const handle = fs.openWrite(path);
  try {
    if (handle.size() < size) handle.resize(size);
  } catch (error) {
    handle.close();
    throw error;
  }
  return new SegmentFile(handle, end);
}
