/**
 * Opening a WAL directory: scan every segment, verify every record, hand them to the
 * store, and apply the documented policy (docs/wal-format.md):
 *
 * - The scan (scanLog) walks the segments in name order and stops at the first problem:
 *   a header that is not whole, a segment of another log, one that does not start where
 *   the previous ended or does not link to its last record, a bad record, a position out
 *   of order. What comes before is the valid prefix.
 * - Zeros from a record boundary to a segment's end end its records: segments are sized
 *   ahead of their records (zero-tail.ts).
 * - A torn tail (a record cut short, a garbled end with no valid record after it) in the
 *   LAST segment is what a crash mid-write leaves: the cut bytes (up to the last non-zero
 *   one) are saved aside as `<segment>.broken-<offset>`, the segment is truncated and synced.
 * - Anything else is corruption: open refuses naming the file and offset, unless `repair`
 *   is set, which keeps the valid prefix and sets the rest aside (never deletes it).
 * - The log ends at a whole append: a prefix ending inside one is cut back to the last
 *   whole append, the cut bytes and any later segment set aside.
 *
 * Open, `repair` and the read-only tools (LogReader: verify, inspect) all stand on the same
 * scan, so they agree on what is valid in every case.
 */
import { StorageError } from "../core/errors.ts";
import type { RecordReporter } from "../core/storage.ts";
import { assertNoPendingScavenge, finishScavenge } from "./scavenge-pending.ts";
import { discardCheckpoint, loadCheckpoint, type WalCheckpoint } from "./checkpoint.ts";
import { verifiedRecordsEnd } from "./crc32c.ts";
import { type FileHandle, type FileSystem, joinPath, writeFileAtomically } from "./file-system.ts";
import { ReadWindow } from "./read-window.ts";
import { dataEnd, readTail } from "./zero-tail.ts";
import {
  checkRecord,
  paddedLength,
  recordContinues,
  type RecordDecoder,
  recordPosition,
  type RecordProblem,
  recordStreamVersion,
} from "./record-format.ts";
import { decodeSegmentHeader, isWalTempName, parseSegmentName, SEGMENT_HEADER_BYTES, type SegmentHeader } from "./segment.ts";

/** Every this many records a segment's file offset is kept in memory, for reads. */
export const SPARSE_EVERY = 64;

/** What recovery knows of one segment file. */
export interface SegmentIndex {
  /** The file name. */
  name: string;
  /** Position of its first record. */
  firstPosition: number;
  /** Bytes used (header + records). */
  bytes: number;
  /** `sparse[k]` is the file offset of record `firstPosition + k * SPARSE_EVERY`. */
  sparse: number[];
  /** Records in the segment. */
  records: number;
}

/** What a recovery scan found (and, unless read-only, did). */
export interface Recovered {
  /** The segments of the valid prefix, oldest first. */
  segments: SegmentIndex[];
  /** Position of the last valid record (0 for an empty log). */
  headPosition: number;
  /** The log's id (hex), if it has a segment. */
  logId?: string;
  /** CRC32C of the last valid record (0 for an empty log): the next segment's link. */
  lastCrc: number;
  /** With `readOnly`: the first problem found, which open would cut (`torn`) or refuse. */
  problem?: { file: string; offset: number; reason: string; torn: boolean };
  /** What the tail policy cut, if anything. */
  truncated?: { file: string; offset: number; bytes: number; savedAs: string };
  /** What `repair` kept and set aside, if it had anything to do. */
  repaired?: { file: string; offset: number; reason: string; movedAside: string[] };
  /** Every file this recovery made or renamed to keep bytes aside, in order. */
  setAside: string[];
}

/** How to recover. */
export interface RecoverOptions {
  /** Keep the valid prefix of a corrupt log and set the rest aside, instead of refusing. */
  repair?: boolean;
  /** Inspect only: change nothing on disk, report the first problem instead of acting on it. */
  readOnly?: boolean;
  /** Told each record of the final valid prefix, in order. */
  onRecord: RecordReporter;
  /**
   * Offered the index checkpoint, if one holds for the log (see checkpoint.ts); returning
   * true skips the records it covers (not read, not reported). Not offered read-only.
   */
  onCheckpoint?: (position: number, index: Uint8Array) => boolean;
  /**
   * The window to read the segments through (a new one if not given): the storage lends
   * its own, so an open fills one buffer, not two; tests give a small one, so that records
   * straddle windows.
   */
  window?: ReadWindow;
}

/** Where the valid prefix stops, and why. */
interface Problem {
  /** Index of the segment (in name order) the problem is in. */
  at: number;
  offset: number;
  reason: string;
}

/** A point of the log at an append boundary. */
interface Boundary {
  segment: SegmentIndex;
  bytes: number;
  records: number;
  sparse: number;
  crc: number;
}

/** What the scan found. */
interface Scan {
  names: string[];
  segments: SegmentIndex[];
  logId?: string;
  problem?: Problem;
  /** Records of an append not yet known to be whole (the log ends inside it). */
  pending: [streamId: string, streamVersion: number, position: number, marker: boolean][];
  /** Where the last whole append ends. */
  lastWhole?: Boundary;
  /** The CRC32C of the last record read (the next segment's header links to it). */
  lastCrc: number;
}

export function recover(fs: FileSystem, directory: string, decoder: RecordDecoder, options: RecoverOptions): Recovered {
  // A scavenge a crash interrupted is finished (or undone) before anything is read.
  if (options.readOnly) assertNoPendingScavenge(fs, directory);
  else finishScavenge(fs, directory);
  const names = fs.list(directory);
  // A temp file of ours is a segment (or saved bytes) whose creation never reached its
  // rename: it never held an acknowledged record. Anyone else's .tmp file is not ours.
  if (!options.readOnly) for (const name of names.filter(isWalTempName)) fs.remove(joinPath(directory, name));
  const segmentNames = names.filter((n) => parseSegmentName(n) !== undefined).sort();
  let resume: WalCheckpoint | undefined;
  // A repair reads the whole log: what it must find may lie in what a checkpoint covers.
  if (!options.readOnly && !options.repair && options.onCheckpoint !== undefined) {
    const checkpoint = loadCheckpoint(fs, directory, segmentNames);
    if (checkpoint !== undefined && options.onCheckpoint(checkpoint.position, checkpoint.index)) resume = checkpoint;
  }
  const window = options.window ?? new ReadWindow();
  const scan = scanLog(fs, directory, segmentNames, decoder, options.onRecord, window, resume);
  const result: Recovered = { segments: scan.segments, headPosition: 0, logId: scan.logId, lastCrc: 0, setAside: [] };
  const { problem } = scan;
  if (problem !== undefined) {
    const path = joinPath(directory, scan.names[problem.at]!);
    // Read only where it is needed: the last segment's, to tell a torn tail; any, to cut aside.
    const readCut = () => problem.offset >= SEGMENT_HEADER_BYTES ? readTail(fs, path, problem.offset, window) : undefined;
    const tail = problem.at === scan.names.length - 1 ? readCut() : undefined;
    const torn = tail !== undefined && !validRecordAfter(tail, positionAfter(scan));
    if (options.readOnly) {
      result.problem = { file: path, offset: problem.offset, reason: problem.reason, torn };
    } else if (torn) {
      result.truncated = cutTail(fs, directory, scan.names[problem.at]!, problem.offset, result.setAside, tail);
    } else if (options.repair) {
      const movedAside = setAsideFrom(fs, directory, scan, problem, result.setAside, tail ?? readCut());
      result.repaired = { file: path, offset: problem.offset, reason: problem.reason, movedAside };
    } else {
      throw new StorageError(
        `WAL is corrupt: ${problem.reason}; open with { repair: true } (or run \`eventfold repair\`) to keep the valid prefix`,
        { file: path, offset: problem.offset },
      );
    }
  }
  if (scan.pending.length > 0) cutUnfinishedAppend(fs, directory, scan, result, options.readOnly === true, window);
  // Records a checkpoint may cover were cut or moved aside: it no longer describes the log.
  if (!options.readOnly && resume === undefined && (result.truncated !== undefined || result.repaired !== undefined)) {
    discardCheckpoint(fs, directory);
  }
  const last = result.segments.at(-1);
  result.headPosition = last === undefined ? 0 : last.firstPosition + last.records - 1;
  result.lastCrc = scan.lastWhole?.crc ?? 0;
  if (!options.readOnly) {
    if (result.setAside.length > 0) fs.syncDirectory(directory);
    makeRecoveredDurable(fs, directory, result.segments);
  }
  return result;
}

/** Walks the segments in order up to the first problem; reports whole appends to `onRecord`. */
function scanLog(
  fs: FileSystem,
  directory: string,
  names: string[],
  decoder: RecordDecoder,
  onRecord: RecordReporter,
  window: ReadWindow,
  resume?: WalCheckpoint,
): Scan {
  const scan: Scan = { names, segments: [], pending: [], lastCrc: 0 };
  let expected = 1;
  let link = 0;
  let at = 0;
  let resumed: SegmentIndex | undefined;
  if (resume !== undefined) {
    // The checkpoint's segments are taken as they were; the last one is read on from its end.
    const covered = resume.segments.map((segment) => ({ ...segment, sparse: [...segment.sparse] }));
    resumed = covered.pop()!;
    scan.segments.push(...covered);
    scan.logId = resume.logId;
    scan.lastWhole = { segment: resumed, bytes: resumed.bytes, records: resumed.records, sparse: resumed.sparse.length, crc: resume.lastCrc };
    scan.lastCrc = resume.lastCrc;
    at = covered.length;
  }
  for (; at < names.length; at++) {
    const name = names[at]!;
    const path = joinPath(directory, name);
    const file = fs.openRead(path);
    try {
      let segment = resumed;
      resumed = undefined;
      if (segment === undefined) {
        const header = decodeSegmentHeader(window.read(file, 0, SEGMENT_HEADER_BYTES));
        const reason = headerProblem(name, header, scan.logId, expected, link);
        if (reason !== undefined) {
          scan.problem = { at, offset: 0, reason };
          return scan;
        }
        scan.logId ??= (header as SegmentHeader).logId;
        segment = { name, firstPosition: expected, bytes: SEGMENT_HEADER_BYTES, sparse: [], records: 0 };
      }
      scan.segments.push(segment);
      const problem = scanRecords(file, window, segment, decoder, scan, onRecord, path);
      expected = segment.firstPosition + segment.records;
      if (problem !== undefined) {
        scan.problem = { at, ...problem };
        return scan;
      }
    } finally {
      file.close();
    }
    link = scan.lastCrc;
  }
  return scan;
}

/** What is wrong with a segment's header where the log expects the segment starting at `expected` and linking to `link`. */
function headerProblem(
  name: string,
  header: SegmentHeader | { problem: string },
  logId: string | undefined,
  expected: number,
  link: number,
): string | undefined {
  if ("problem" in header) return header.problem;
  if (logId !== undefined && header.logId !== logId) return `segment belongs to another log (log id ${header.logId}, this log is ${logId})`;
  if (parseSegmentName(name) !== header.firstPosition) {
    return `segment is named for position ${parseSegmentName(name)} but starts at position ${header.firstPosition}`;
  }
  if (header.firstPosition !== expected) return `segment starts at position ${header.firstPosition}, expected ${expected}`;
  if (header.link !== link) {
    return `segment does not follow the previous one (it links to a record with CRC ${header.link}, the log's last record has CRC ${link})`;
  }
  return undefined;
}

const REASONS: Record<RecordProblem, string> = {
  truncated: "record cut short",
  zero: "zero-filled record",
  "bad-length": "record length out of bounds",
  "bad-checksum": "record checksum mismatch",
};

/**
 * Checks and reports the segment's records from where it is known to end (its header, or
 * where a checkpoint left it) to the end of the file, or to zeros that run to the end of
 * the file, reading it window by window. A record that runs past a window but not past
 * the file is read again at the start of the next, so every record is judged on the whole
 * file, as if it were read at once.
 */
function scanRecords(
  file: FileHandle,
  window: ReadWindow,
  segment: SegmentIndex,
  decoder: RecordDecoder,
  scan: Scan,
  onRecord: RecordReporter,
  path: string,
): { offset: number; reason: string } | undefined {
  const size = file.size();
  let need = window.bytes;
  while (segment.bytes < size) {
    const base = segment.bytes;
    const asked = Math.min(size - base, need);
    const bytes = window.read(file, base, asked);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // A short read is the file's end, whatever its size said: judge what is there.
    const whole = base + bytes.length === size || bytes.length < asked;
    const verified = verifiedRecordsEnd(bytes, 0, bytes.length);
    need = window.bytes;
    for (let offset = 0; offset < bytes.length;) {
      if (!whole) {
        // The window ends before the file: a record it cuts is read whole next time.
        if (offset + 8 > bytes.length) {
          need = Math.max(need, 8);
          break;
        }
        const length = view.getUint32(offset + 4, true);
        if (offset + length > bytes.length && base + offset + length <= size) {
          need = Math.max(need, length);
          break;
        }
      }
      const checked = checkRecord(bytes, view, offset, bytes.length, verified);
      if (typeof checked !== "number") {
        // Zeros to the end of the file (fewer than a record's 8 first bytes, too) end its records.
        if (dataEnd(file, window, base + offset, size) === base + offset) return undefined;
        return { offset: base + offset, reason: REASONS[checked] };
      }
      const position = recordPosition(view, offset);
      const expected = segment.firstPosition + segment.records;
      if (position !== expected) return { offset: base + offset, reason: `record has position ${position}, expected ${expected}` };
      let streamId: string;
      try {
        streamId = decoder.streamIdOf(bytes, view, offset);
      } catch (error) {
        // The checksum matched, so these are the bytes that were written: not a torn tail.
        throw new StorageError(`WAL record cannot be decoded: ${(error as Error).message}`, { file: path, offset: base + offset, cause: error });
      }
      if (segment.records % SPARSE_EVERY === 0) segment.sparse.push(base + offset);
      scan.pending.push([streamId, recordStreamVersion(view, offset), position, decoder.isMarker(bytes, view, offset)]);
      const endsAppend = !recordContinues(view, offset);
      const crc = view.getUint32(offset, true);
      scan.lastCrc = crc;
      segment.records++;
      offset += paddedLength(checked);
      segment.bytes = base + offset;
      if (endsAppend) {
        for (const [id, version, at, marker] of scan.pending) onRecord(id, version, at, marker);
        scan.pending.length = 0;
        scan.lastWhole = { segment, bytes: segment.bytes, records: segment.records, sparse: segment.sparse.length, crc };
      }
    }
  }
  return undefined;
}

/** The position the record at the problem would have had. */
function positionAfter(scan: Scan): number {
  const last = scan.segments.at(-1);
  return last === undefined ? 1 : last.firstPosition + last.records;
}

/**
 * Repair: the valid prefix stays; from the problem on, everything is set aside. A bad
 * header (offset 0, no `tail`) sets the whole file aside; a bad record saves the segment's
 * rest (`tail`, readTail) as `.broken-<offset>` and truncates it; every later segment file
 * is set aside whole.
 */
function setAsideFrom(fs: FileSystem, directory: string, scan: Scan, problem: Problem, setAside: string[], tail?: Uint8Array): string[] {
  const first = setAside.length;
  const name = scan.names[problem.at]!;
  if (tail === undefined) moveAside(fs, directory, name, setAside);
  else cutTail(fs, directory, name, problem.offset, setAside, tail);
  for (const later of scan.names.slice(problem.at + 1)) moveAside(fs, directory, later, setAside);
  return setAside.slice(first);
}

/**
 * The log ends inside an append (a crash between the writes of one append's records):
 * keep it whole or not at all — cut back to the end of the last whole append, saving the
 * cut bytes aside (`.broken-<offset>`) and setting later segments aside (`.broken`).
 */
function cutUnfinishedAppend(fs: FileSystem, directory: string, scan: Scan, result: Recovered, readOnly: boolean, window: ReadWindow): void {
  const first = result.segments[0]!;
  const keep = scan.lastWhole ?? { segment: first, bytes: SEGMENT_HEADER_BYTES, records: 0, sparse: 0, crc: 0 };
  const at = result.segments.indexOf(keep.segment);
  const file = joinPath(directory, keep.segment.name);
  if (readOnly) {
    result.problem ??= { file, offset: keep.bytes, reason: "an append cut short (its last records never reached the disk)", torn: true };
  } else {
    for (const later of result.segments.slice(at + 1)) moveAside(fs, directory, later.name, result.setAside);
    if (keep.segment.bytes > keep.bytes) {
      result.truncated = cutTail(fs, directory, keep.segment.name, keep.bytes, result.setAside, readTail(fs, file, keep.bytes, window));
    }
  }
  result.segments.length = at + 1;
  keep.segment.bytes = keep.bytes;
  keep.segment.records = keep.records;
  keep.segment.sparse.length = keep.sparse;
}

/** Is there any whole, checksummed record at or past `position` in a segment's tail `bytes`, after their first 8? */
function validRecordAfter(bytes: Uint8Array, position: number): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 8 <= bytes.length; at += 8) {
    if (typeof checkRecord(bytes, view, at, bytes.length) === "number" && recordPosition(view, at) >= position) {
      return true;
    }
  }
  return false;
}

/** A name not yet taken: `base`, else `base.2`, `base.3`, ... (a second repair never overwrites the first's). */
function freeName(fs: FileSystem, directory: string, base: string): string {
  let name = base;
  for (let n = 2; fs.exists(joinPath(directory, name)); n++) name = `${base}.${n}`;
  return name;
}

/** Saves `tail`, segment `name`'s bytes from `offset` on (readTail), aside, then cuts the segment there. */
function cutTail(fs: FileSystem, directory: string, name: string, offset: number, setAside: string[], tail: Uint8Array) {
  const path = joinPath(directory, name);
  const savedAs = freeName(fs, directory, `${name}.broken-${offset}`);
  writeFileAtomically(fs, directory, savedAs, tail);
  setAside.push(savedAs);
  fs.truncate(path, offset);
  syncFile(fs, path);
  return { file: path, offset, bytes: tail.length, savedAs };
}

/** Renames a whole segment file aside (`.broken`). */
function moveAside(fs: FileSystem, directory: string, name: string, setAside: string[]): void {
  const target = freeName(fs, directory, `${name}.broken`);
  fs.rename(joinPath(directory, name), joinPath(directory, target));
  setAside.push(target);
}

/**
 * Records a killed writer wrote but never synced are still in the page cache, valid, and
 * now part of the log; the store will call them durable (and hand them to durable-only
 * subscribers). Sync them, and the directory entries, before it does.
 */
function makeRecoveredDurable(fs: FileSystem, directory: string, segments: SegmentIndex[]): void {
  const last = segments.at(-1);
  if (last === undefined) return;
  syncFile(fs, joinPath(directory, last.name));
  fs.syncDirectory(directory);
}

/** fdatasync of the file at `path`. */
function syncFile(fs: FileSystem, path: string): void {
  const handle = fs.openWrite(path);
  try {
    handle.syncData();
  } finally {
    handle.close();
  }
}
