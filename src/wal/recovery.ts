/**
 * Opening a WAL directory: scan every segment, verify every record, hand them to the
 * store, and apply the documented tail policy (docs/wal-format.md):
 *
 * - A torn tail (a record cut short, a zero-filled or garbled end with no valid record
 *   after it) in the LAST segment is what a crash mid-write leaves: the cut bytes are
 *   saved aside as `<segment>.broken-<offset>`, the segment is truncated and synced.
 * - Anything else (a bad record followed by valid ones, a bad record in an earlier
 *   segment, a gap in positions) is corruption: open refuses with the file and offset,
 *   unless `repair` is set, which keeps the valid prefix and moves the rest aside.
 */
import { StorageError } from "../core/errors.ts";
import { type FileSystem, joinPath, writeFileAtomically } from "./file-system.ts";
import {
  checkRecord,
  paddedLength,
  recordContinues,
  RecordDecoder,
  recordPosition,
  type RecordProblem,
  recordStreamVersion,
} from "./record-format.ts";
import { decodeSegmentHeader, isWalTempName, parseSegmentName, SEGMENT_HEADER_BYTES } from "./segment.ts";

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
  /** The segments, oldest first. */
  segments: SegmentIndex[];
  /** Position of the last valid record (0 for an empty log). */
  headPosition: number;
  /** With `readOnly`: the first problem found, which open would have cut (`torn`) or refused. */
  problem?: { file: string; offset: number; reason: string; torn: boolean };
  /** What the tail policy cut, if anything. */
  truncated?: { file: string; offset: number; bytes: number; savedAs: string };
  /** What `repair` moved aside, if anything. */
  repaired?: { file: string; offset: number; movedAside: string[] };
}

export interface RecoverOptions {
  repair?: boolean;
  /** Inspect only: change nothing on disk, report the first problem instead of acting on it. */
  readOnly?: boolean;
  onRecord(streamId: string, streamVersion: number, position: number): void;
}

interface Problem {
  offset: number;
  reason: string;
}

export function recover(fs: FileSystem, directory: string, decoder: RecordDecoder, options: RecoverOptions): Recovered {
  const names = fs.list(directory);
  // A temp file of ours is a segment (or a saved tail) whose creation never reached its
  // rename: it never held an acknowledged record. Anyone else's .tmp file is not ours to remove.
  if (!options.readOnly) for (const name of names.filter(isWalTempName)) fs.remove(joinPath(directory, name));
  const segmentNames = names.filter((n) => parseSegmentName(n) !== undefined).sort();
  const result: Recovered = { segments: [], headPosition: 0 };
  const appends: Appends = { pending: [], onRecord: options.onRecord };
  let expected = 1;
  for (let i = 0; i < segmentNames.length; i++) {
    const name = segmentNames[i];
    const path = joinPath(directory, name);
    const isLast = i === segmentNames.length - 1;
    const bytes = fs.readFile(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const header = decodeSegmentHeader(bytes);
    let problem: Problem | undefined;
    const segment: SegmentIndex = { name, firstPosition: expected, bytes: SEGMENT_HEADER_BYTES, sparse: [], records: 0 };
    if ("problem" in header) problem = { offset: 0, reason: header.problem };
    else if (header.firstPosition !== expected || parseSegmentName(name) !== expected) {
      problem = { offset: 0, reason: `segment starts at position ${header.firstPosition}, expected ${expected}` };
    } else {
      problem = scanRecords(bytes, view, segment, decoder, appends, path);
    }
    expected = segment.firstPosition + segment.records;
    if (segment.records > 0 || problem === undefined || problem.offset > 0) result.segments.push(segment);
    if (problem === undefined) continue;

    const torn = isLast && problem.offset >= SEGMENT_HEADER_BYTES &&
      !validRecordAfter(bytes, view, problem.offset, expected);
    if (options.readOnly) {
      result.problem = { file: path, offset: problem.offset, reason: problem.reason, torn };
    } else if (torn) {
      result.truncated = cutTail(fs, directory, name, bytes, problem.offset);
    } else if (options.repair) {
      result.repaired = repairAt(fs, directory, name, bytes, problem.offset, segmentNames.slice(i + 1));
      if (problem.offset === 0) result.segments.pop();
    } else {
      throw new StorageError(
        `WAL is corrupt: ${problem.reason}; open with { repair: true } to keep the valid prefix`,
        { file: path, offset: problem.offset },
      );
    }
    break;
  }
  if (appends.pending.length > 0) {
    expected -= appends.pending.length;
    cutUnfinishedAppend(fs, directory, result, appends, options.readOnly === true);
  }
  result.headPosition = expected - 1;
  if (!options.readOnly) makeRecoveredDurable(fs, directory, result.segments);
  return result;
}

/**
 * Records a killed writer wrote but never synced are still in the page cache, valid, and
 * now part of the log; the store will call them durable (and hand them to durable-only
 * subscribers). Sync them, and the directory entries, before it does.
 */
function makeRecoveredDurable(fs: FileSystem, directory: string, segments: SegmentIndex[]): void {
  const last = segments.at(-1);
  if (last === undefined) return;
  const handle = fs.openAppend(joinPath(directory, last.name));
  try {
    handle.syncData();
  } finally {
    handle.close();
  }
  fs.syncDirectory(directory);
}

const REASONS: Record<RecordProblem, string> = {
  truncated: "record cut short",
  zero: "zero-filled record",
  "bad-length": "record length out of bounds",
  "bad-checksum": "record checksum mismatch",
};

/**
 * Records of an append not yet known to be whole: they reach the store only when the
 * append's last record (the one without the "more" flag) does.
 */
interface Appends {
  pending: [streamId: string, streamVersion: number, position: number][];
  /** Where the last whole append ends. */
  lastWhole?: { segment: SegmentIndex; bytes: number; records: number; sparse: number };
  onRecord: RecoverOptions["onRecord"];
}

function scanRecords(
  bytes: Uint8Array,
  view: DataView,
  segment: SegmentIndex,
  decoder: RecordDecoder,
  appends: Appends,
  path: string,
): Problem | undefined {
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < bytes.length) {
    const checked = checkRecord(bytes, view, offset, bytes.length);
    if (typeof checked !== "number") return { offset, reason: REASONS[checked] };
    const position = recordPosition(view, offset);
    const expected = segment.firstPosition + segment.records;
    if (position !== expected) return { offset, reason: `record has position ${position}, expected ${expected}` };
    let streamId: string;
    try {
      streamId = decoder.streamIdOf(bytes, view, offset);
    } catch (error) {
      // The checksum matched, so these are the bytes that were written: not a torn tail.
      throw new StorageError(`WAL record cannot be decoded: ${(error as Error).message}`, { file: path, offset, cause: error });
    }
    if (segment.records % SPARSE_EVERY === 0) segment.sparse.push(offset);
    appends.pending.push([streamId, recordStreamVersion(view, offset), position]);
    const endsAppend = !recordContinues(view, offset);
    segment.records++;
    offset += paddedLength(checked);
    segment.bytes = offset;
    if (endsAppend) {
      for (const [id, version, at] of appends.pending) appends.onRecord(id, version, at);
      appends.pending.length = 0;
      appends.lastWhole = { segment, bytes: offset, records: segment.records, sparse: segment.sparse.length };
    }
  }
  return undefined;
}

/**
 * The log ends inside an append (a crash between the writes of one append's records):
 * keep it whole or not at all — cut back to the end of the last whole append, saving the
 * cut bytes aside (`.broken-<offset>`) and moving later segments aside (`.broken`).
 */
function cutUnfinishedAppend(fs: FileSystem, directory: string, result: Recovered, appends: Appends, readOnly: boolean): void {
  const keep = appends.lastWhole ?? { segment: result.segments[0], bytes: SEGMENT_HEADER_BYTES, records: 0, sparse: 0 };
  const at = result.segments.indexOf(keep.segment);
  if (at < 0) throw new StorageError(`WAL recovery: the last whole append is in ${keep.segment.name}, which was set aside`);
  const file = joinPath(directory, keep.segment.name);
  if (readOnly) {
    result.problem ??= { file, offset: keep.bytes, reason: "an append cut short (its last records never reached the disk)", torn: true };
  } else {
    for (const later of result.segments.slice(at + 1)) {
      fs.rename(joinPath(directory, later.name), joinPath(directory, `${later.name}.broken`));
    }
    if (keep.segment.bytes > keep.bytes) {
      result.truncated = cutTail(fs, directory, keep.segment.name, fs.readFile(file), keep.bytes);
    }
    fs.syncDirectory(directory);
  }
  result.segments.length = at + 1;
  keep.segment.bytes = keep.bytes;
  keep.segment.records = keep.records;
  keep.segment.sparse.length = keep.sparse;
}

/** Is there any whole, checksummed record at or past `position` after `offset`? */
function validRecordAfter(bytes: Uint8Array, view: DataView, offset: number, position: number): boolean {
  for (let at = offset + 8; at + 8 <= bytes.length; at += 8) {
    if (typeof checkRecord(bytes, view, at, bytes.length) === "number" && recordPosition(view, at) >= position) {
      return true;
    }
  }
  return false;
}

function cutTail(fs: FileSystem, directory: string, name: string, bytes: Uint8Array, offset: number) {
  const savedAs = `${name}.broken-${offset}`;
  writeFileAtomically(fs, directory, savedAs, bytes.subarray(offset));
  const path = joinPath(directory, name);
  fs.truncate(path, offset);
  const handle = fs.openAppend(path);
  try {
    handle.syncData();
  } finally {
    handle.close();
  }
  return { file: path, offset, bytes: bytes.length - offset, savedAs };
}

function repairAt(fs: FileSystem, directory: string, name: string, bytes: Uint8Array, offset: number, later: string[]) {
  const movedAside: string[] = [];
  if (offset === 0) {
    fs.rename(joinPath(directory, name), joinPath(directory, `${name}.broken`));
    movedAside.push(`${name}.broken`);
  } else {
    movedAside.push(cutTail(fs, directory, name, bytes, offset).savedAs);
  }
  for (const next of later) {
    fs.rename(joinPath(directory, next), joinPath(directory, `${next}.broken`));
    movedAside.push(`${next}.broken`);
  }
  fs.syncDirectory(directory);
  return { file: joinPath(directory, name), offset, movedAside };
}
